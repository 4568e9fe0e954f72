"""A loopback HTTP proxy in front of a moto server: counts AWS API calls, adds latency.

    python bench/aws_proxy.py --upstream http://127.0.0.1:5000 [--port 0] [--latency-ms 0]

Prints `port N` once it listens. Every request is forwarded to the upstream (one
keep-alive connection per proxy thread) after sleeping the current latency, and
counted as service:Action, read from the request itself (the SigV4 credential scope
names the service; the query protocol puts Action in the form body), so the count
owes nothing to vhv's own bookkeeping. Control (not forwarded, not counted):
GET /__bench/counts (JSON), POST /__bench/reset, POST /__bench/latency?ms=N.
Standard library only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "upgrade"}
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class State:
    def __init__(self, upstream: str, latency_ms: float):
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.latency = latency_ms / 1000
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.local = threading.local()

    def upstream(self, fresh: bool = False) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        return conn


# S3's REST reads, by the sub-resource in the query string, as IAM names them
S3_GETS = {
    "location": "GetBucketLocation",
    "publicAccessBlock": "GetBucketPublicAccessBlock",
    "policyStatus": "GetBucketPolicyStatus",
    "policy": "GetBucketPolicy",
    "acl": "GetBucketAcl",
    "encryption": "GetEncryptionConfiguration",
    "versioning": "GetBucketVersioning",
    "lifecycle": "GetLifecycleConfiguration",
    "cors": "GetBucketCORS",
    "tagging": "GetBucketTagging",
}


def _s3_action(method: str, path: str) -> str:
    """The IAM action of an S3 or s3control REST call (only the reads vhv makes are named)."""
    url = urlsplit(path)
    if url.path.endswith("/configuration/publicAccessBlock"):
        return f"{'Get' if method == 'GET' else method}AccountPublicAccessBlock"
    keys = set(parse_qs(url.query, keep_blank_values=True))
    found = [a for q, a in S3_GETS.items() if q in keys]
    return found[0] if method == "GET" and found else f"{method} {url.path}"


def action_of(headers: dict[str, str], path: str, body: bytes, method: str = "GET") -> str:
    """service:Action of one request; JSON-protocol targets, S3's REST calls, and REST paths as a
    fallback."""
    m = SCOPE.search(headers.get("authorization", ""))
    service = m.group(1) if m else "?"
    form = parse_qs(body.decode("utf-8", "replace")) if body and b"=" in body[:200] else {}
    action = (form.get("Action") or parse_qs(urlsplit(path).query).get("Action") or [""])[0]
    if not action and "x-amz-target" in headers:
        action = headers["x-amz-target"].rsplit(".", 1)[-1]
    if not action and service == "s3":
        action = _s3_action(method, path)
    return f"{service}:{action or urlsplit(path).path}"


def handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self) -> bool:
            url = urlsplit(self.path)
            if not url.path.startswith("/__bench/"):
                return False
            what = url.path[len("/__bench/") :]
            with state.lock:
                if what == "reset":
                    state.counts.clear()
                elif what == "latency":
                    state.latency = float(parse_qs(url.query).get("ms", ["0"])[0]) / 1000
                body = json.dumps(dict(state.counts) if what == "counts" else {"ok": True}).encode()
            self._reply(200, body, [("Content-Type", "application/json")])
            return True

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self._control():
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                state.counts[action_of(headers, self.path, body, self.command)] += 1
                latency = state.latency
            if latency:
                time.sleep(latency)
            out = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            for attempt in (0, 1):
                conn = state.upstream(fresh=attempt > 0)
                try:
                    conn.request(self.command, self.path, body=body, headers=out)
                    resp = conn.getresponse()
                    data = resp.read()
                    break
                except (http.client.HTTPException, OSError):
                    if attempt:
                        self._reply(502, b"upstream failed")
                        return
            self._reply(resp.status, data, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP])

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

    return Handler


def serve(upstream: str, port: int = 0, latency_ms: float = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(State(upstream, latency_ms)))
    server.daemon_threads = True
    return server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency-ms", type=float, default=0)
    args = ap.parse_args()
    server = serve(args.upstream, args.port, args.latency_ms)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
