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


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "egress-lab-outside/1"

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

    def server_bind(self):
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup through
        # the host's resolver: skip it, the lab dials nothing but its own hosts.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


def main():
    addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    httpd = Server((addr, port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
