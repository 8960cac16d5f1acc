#!/usr/bin/env python3
"""The lab's "outside" HTTPS site (runs inside the ev-world network namespace).

Usage: https_server.py ADDRESS PORT CERT KEY
Answers every GET with a fixed body naming the site, and logs each request with the
peer address to stdout, so a test can tell whether a connection came direct or
through the companion.
"""
import http.server
import ssl
import sys


# A client that connects and never speaks (a raw TCP probe, a tunnel cut mid-handshake) must
# not hold a thread, let alone the listener, for long.
IDLE_TIMEOUT_S = 10


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "egress-lab-outside/1"
    timeout = IDLE_TIMEOUT_S

    def do_GET(self):
        body = b"egress-verify outside site 203.0.113.10 OK\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stdout.write("%s %s\n" % (self.client_address[0], fmt % args))
        sys.stdout.flush()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, tls):
        self.tls = tls
        super().__init__(address, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's thread: wrapping the listening socket
        # would run it in accept(), where one silent client stops the whole site.
        request.settimeout(IDLE_TIMEOUT_S)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(conn, client_address, self)

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup through
        # the host's resolver: skip it, the lab dials nothing but its own hosts.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    Server((addr, port), Handler, ctx).serve_forever()


if __name__ == "__main__":
    main()
