"""Throttling and 5xx: a fault-injecting proxy of our own (loopback) in front of a moto server.

Every finding of a run through the proxy equals the fault-free run's, or is `error`: never a
`pass` (or any decision) that was not made on what was really read.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import boto3
import pytest
import yaml

from tests.conftest import threaded_moto
from validator import engine, rulepack
from validator import params as params_mod
from validator.aws.account import read
from validator.aws.session import Target
from validator.cli import main
from validator.demo import DEMO_PARAMS, build_golden
from validator.errors import VhvError

QUERY_ERROR = (
    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
    "<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
)
EC2_ERROR = (
    "<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error></Errors>"
    "<RequestID>00000000-0000-4000-8000-000000000000</RequestID></Response>"
)
FAULTS = [(400, "Throttling"), (503, "ServiceUnavailable"), (500, "InternalError")]
# a 500 as a web server's HTML page, not AWS's XML: botocore cannot parse it (ResponseParserError,
# not a BotoCoreError); seen from moto under load, it once surfaced as "internal error"
HTML_500 = (
    b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
)


class FaultProxy(ThreadingHTTPServer):
    """Forwards to `upstream`; fails a `share` of requests (seeded) with throttling or a 5xx."""

    daemon_threads = True

    def __init__(self, upstream: str, share: float, seed: int):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream)
        self.share, self.rng, self.lock = share, random.Random(seed), threading.Lock()
        self.forwarded = self.injected = 0
        self.faults = FAULTS

    def pick(self) -> tuple[int, str] | None:
        with self.lock:
            if self.rng.random() < self.share:
                self.injected += 1
                return self.rng.choice(self.faults)
            self.forwarded += 1
            return None

    def pick_for(self, _request: bytes) -> tuple[int, str] | None:
        return self.pick()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultProxy

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = self.server.pick_for(self.path.encode() + b"?" + body)
        if fault:
            status, code = fault
            ec2 = re.search(r"/ec2/aws4_request", self.headers.get("Authorization", ""))
            if status == 400 and ec2:
                code = "RequestLimitExceeded"
            if code == "html":
                self._reply(status, {"Content-Type": "text/html; charset=utf-8"}, HTML_500)
                return
            payload = (EC2_ERROR if ec2 else QUERY_ERROR).format(code=code).encode()
            self._reply(status, {"Content-Type": "text/xml"}, payload)
            return
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        try:
            conn.request(self.command, self.path, body=body, headers=dict(self.headers))
            resp = conn.getresponse()
            self._reply(resp.status, {"Content-Type": resp.getheader("Content-Type", "text/xml")}, resp.read())
        finally:
            conn.close()

    do_GET = do_POST = _handle

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_args) -> None:
        pass


@contextlib.contextmanager
def serving(proxy: FaultProxy) -> Iterator[FaultProxy]:
    """`proxy` answering on its own thread until the block ends."""
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.fixture(scope="module")
def moto_url():
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with threaded_moto() as url:
        ids = build_golden(boto3.Session(region_name=DEMO_PARAMS["region"]), endpoint_url=url)
        # a drift, so that the fault-free run has fails as well as passes to keep
        ec2 = boto3.client("ec2", region_name=DEMO_PARAMS["region"], endpoint_url=url)
        ec2.authorize_security_group_ingress(
            GroupId=ids["sg_queue"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        yield url
    mp.undo()


def run(endpoint: str) -> dict[tuple[str, str | None], tuple[str, str]] | None:
    """(rule, resource) -> (status, message); None when vhv stopped with one line (exit 2)."""
    prm = params_mod.from_dict(dict(DEMO_PARAMS))
    try:
        snap, _ = read(prm, Target(region=prm.region, endpoint_url=endpoint))
    except VhvError:
        return None
    return {(f.rule_id, f.resource_id): (f.status, f.message) for f in engine.evaluate(rulepack.load(), prm, snap)}


@pytest.fixture(autouse=True)
def _no_backoff(no_backoff_sleep):
    """Every test here: retries without the sleeping (conftest.no_backoff_sleep)."""


@pytest.mark.parametrize("share,seed", [(0.3, 1), (0.85, 3)], ids=["30%", "85%"])
def test_faults_never_turn_into_a_decision_that_was_not_made(moto_url, share, seed):
    clean = run(moto_url)
    assert clean and {s for s, _ in clean.values()} >= {"pass", "fail"}
    with serving(FaultProxy(moto_url, share, seed)) as proxy:
        faulty = run(proxy.url)
    assert proxy.injected > 0 and proxy.forwarded > 0
    if faulty is None:  # sts:GetCallerIdentity itself never got through: nothing decided at all
        return
    assert set(faulty) - set(clean) <= {k for k, (s, _) in faulty.items() if s == "error"}
    wrong = {k: (faulty[k], clean.get(k)) for k in faulty if faulty[k][0] != "error" and faulty[k] != clean.get(k)}
    assert wrong == {}, wrong
    errors = [m for s, m in faulty.values() if s == "error"]
    assert all(
        (
            "Throttling" in m
            or "RequestLimitExceeded" in m
            or "ServiceUnavailable" in m
            or "InternalError" in m
            or "could not decide" in m
            or "not read" in m
        )
        for m in errors
    ), errors
    if share < 0.5:  # five attempts: at 30% nearly every read gets through
        assert sum(s != "error" for s, _ in faulty.values()) > len(faulty) // 2


def test_an_html_error_page_is_one_line_not_an_internal_error(moto_url, tmp_path, capsys):
    # moto under load once answered 500 with an HTML page; botocore's ResponseParserError is no
    # BotoCoreError, and it surfaced as "vhv: internal error"
    proxy = FaultProxy(moto_url, 1.0, 1)
    proxy.faults = [(500, "html")]
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(dict(DEMO_PARAMS)))
    with serving(proxy):
        code = main(["check", "--params", str(params), "--endpoint-url", proxy.url])
    err = capsys.readouterr().err
    assert code == 2 and "internal error" not in err and len(err.strip().splitlines()) == 1, err
    assert err.startswith("vhv: cannot identify the AWS account (sts:GetCallerIdentity)"), err


class FirstTimeHtml(FaultProxy):
    """Answers each distinct request with the HTML 500 page the first time it is asked, and
    forwards it the next time (whatever the order the threads ask in)."""

    def __init__(self, upstream: str):
        super().__init__(upstream, 0.0, 0)
        self.faults = [(500, "html")]
        self.seen: set[bytes] = set()

    def pick_for(self, body: bytes) -> tuple[int, str] | None:
        with self.lock:
            if body not in self.seen:
                self.seen.add(body)
                self.injected += 1
                return self.faults[0]
            self.forwarded += 1
            return None


def test_a_read_answered_by_an_html_page_is_tried_again(moto_url):
    # botocore does not retry what it cannot parse; vhv does (validator.aws.session.unparsable_retried),
    # so a server that hiccups with an HTML page now and then changes no finding
    clean = run(moto_url)
    with serving(FirstTimeHtml(moto_url)) as proxy:
        flaky = run(proxy.url)
    assert proxy.injected > 5 and proxy.forwarded >= proxy.injected
    assert flaky == clean
