"""vhv cannot do its job: expired credentials, a region that does not exist, an SSO profile
that is not logged in. One clear line, exit 2, no traceback, no report. (Endpoint down,
no credentials and an unknown profile are in test_e2e.py.)"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from validator.cli import main
from validator.demo import DEMO_PARAMS

EXPIRED = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message>"
    b"</Error><RequestId>4f1e7a52-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
)


class _Expired(BaseHTTPRequestHandler):
    """Every request: 403 ExpiredToken, as STS answers a session token past its expiry."""

    hits = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).hits += 1
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(EXPIRED)))
        self.end_headers()
        self.wfile.write(EXPIRED)

    def log_message(self, *_args) -> None:  # quiet
        pass


@pytest.fixture
def expired_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Expired)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Expired.hits = 0
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def params(tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(DEMO_PARAMS))
    return p


def one_line(capsys, argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2 and out == "", (code, out)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vhv: ") and "internal error" not in lines[0], err
    return lines[0]


@pytest.mark.parametrize("command", ["check", "snapshot", "record"])
def test_expired_credentials_are_one_line(capsys, params, expired_endpoint, tmp_path, command):
    argv = [command, "--params", str(params), "--endpoint-url", expired_endpoint]
    argv += ["-o", str(tmp_path / "snap.json")] if command == "snapshot" else []
    line = one_line(capsys, argv)
    assert "ExpiredToken" in line and "credentials" in line
    assert _Expired.hits >= 1  # it was the server's answer, not a connection failure
    assert not (tmp_path / "snap.json").exists()


@pytest.mark.parametrize("where", ["flag", "params"])
def test_a_region_that_does_not_exist_is_one_line_before_any_call(capsys, params, expired_endpoint, where):
    argv = ["check", "--params", str(params), "--endpoint-url", expired_endpoint]
    if where == "flag":
        argv += ["--region", "xx-fake-1"]
    else:
        params.write_text(yaml.safe_dump({**DEMO_PARAMS, "region": "xx-fake-1"}))
    line = one_line(capsys, argv)
    assert "'xx-fake-1' is not an AWS region" in line
    assert _Expired.hits == 0


def test_sso_profile_not_logged_in_is_one_line(capsys, params, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text(
        "[profile vhv-sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Auditor\n"
        "region = eu-west-1\n\n[sso-session corp]\nsso_start_url = https://corp.awsapps.invalid/start\n"
        "sso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n"
    )
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws/sso/cache token
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    line = one_line(capsys, ["check", "--params", str(params), "--profile", "vhv-sso"])
    assert "SSO" in line and "aws sso login" in line
