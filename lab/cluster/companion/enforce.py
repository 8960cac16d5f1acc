"""egress-guardian's policy, as a mitmproxy addon: it refuses a denylist of hosts and any request
that carries a secret pattern, so that egress-verify's enforcement canary (the catalogue's
mustDeny) meets a companion that enforces something.

Opt-in: with both options empty it does nothing.
  egress_deny_hosts    comma-separated hosts, as clients name them (a name also covers its
                       subdomains); CONNECT to one is refused before any tunnel opens
  egress_deny_pattern  a regular expression searched in each request's URL, header values and
                       the first MiB of its body (after TLS interception)

A refusal is HTTP 403 with an RFC 9209 Proxy-Status header naming egress-guardian, so a client
can tell the companion's refusal from anything the origin sends.
"""

import re
from typing import Optional

from mitmproxy import ctx, http

BODY_SCAN_LIMIT = 1024 * 1024


class Enforce:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.pattern: Optional[re.Pattern[str]] = None

    def load(self, loader) -> None:
        loader.add_option("egress_deny_hosts", str, "", "Comma-separated hosts to refuse (and their subdomains).")
        loader.add_option("egress_deny_pattern", str, "", "Regular expression a request must not carry.")

    def configure(self, updated) -> None:
        if "egress_deny_hosts" in updated:
            self.hosts = [h.strip().lower().strip("[]") for h in ctx.options.egress_deny_hosts.split(",") if h.strip()]
        if "egress_deny_pattern" in updated:
            text = ctx.options.egress_deny_pattern
            self.pattern = re.compile(text) if text else None

    def denied_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.hosts)

    def secret_in(self, request: http.Request) -> Optional[str]:
        if self.pattern is None:
            return None
        if self.pattern.search(request.pretty_url):
            return "url"
        for name, value in request.headers.items():
            if self.pattern.search(value):
                return f"header {name}"
        body = (request.raw_content or b"")[:BODY_SCAN_LIMIT].decode("latin-1")
        return "body" if self.pattern.search(body) else None

    def refuse(self, flow: http.HTTPFlow, why: str) -> None:
        ctx.log.info(f"egress-guardian: refused {flow.request.method} {flow.request.pretty_host}: {why}")
        flow.response = http.Response.make(
            403,
            f"egress-guardian: refused by policy ({why})\n".encode(),
            {
                "Content-Type": "text/plain",
                "Proxy-Status": f'egress-guardian; error=http_request_denied; details="{why}"',
            },
        )

    def http_connect(self, flow: http.HTTPFlow) -> None:
        if self.denied_host(flow.request.host):
            self.refuse(flow, "denied destination")

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        if self.denied_host(flow.request.pretty_host):
            self.refuse(flow, "denied destination")
            return
        where = self.secret_in(flow.request)
        if where is not None:
            self.refuse(flow, f"secret pattern in the {where}")


addons = [Enforce()]
