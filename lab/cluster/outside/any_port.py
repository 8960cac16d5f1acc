#!/usr/bin/env python3
"""The lab's outside host on every other TCP port (runs inside the ev-world network namespace).

Usage: any_port.py ADDRESS PORT
world.sh DNATs every TCP port of the outside host but its HTTPS one here, so a port sweep
(`--ports`) meets a host that answers everywhere: a refused or silent port can then only be
the policy's doing. Accepts, logs the peer and the port it dialled, and closes.
"""
import socket
import struct
import sys

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h


def main():
    address, port = sys.argv[1], int(sys.argv[2])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, port))
    listener.listen(4096)
    print(f"answering every port of {address} on {port}", flush=True)
    while True:
        conn, peer = listener.accept()
        try:
            dst = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
            dialled = struct.unpack_from("!H", dst, 2)[0]
        except OSError:
            dialled = port
        print(f"{peer[0]} -> port {dialled}", flush=True)
        conn.close()


if __name__ == "__main__":
    main()
