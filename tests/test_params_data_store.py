"""The params' data_store.bucket: names S3 refuses to create (its reserved prefixes and suffixes,
an IP address) are refused before any AWS call, in one line naming the key, exit 2."""

from __future__ import annotations

import pytest
import yaml

from tests.test_cli import GOOD, dead_aws, one_line_error, run  # noqa: F401 (dead_aws: no AWS call reaches out)
from validator import params as params_mod

STORE = {"user": "valohai-data", "web_uploads": True}


@pytest.mark.parametrize(
    ("bucket", "why"),
    [
        ("xn--acme-data", "S3 keeps the prefix 'xn--' for itself"),
        ("sthree-acme-data", "S3 keeps the prefix 'sthree-' for itself"),
        ("amzn-s3-demo-acme", "S3 keeps the prefix 'amzn-s3-demo-' for itself"),
        ("acme-data-s3alias", "S3 keeps the suffix '-s3alias' for itself"),
        ("acme-data--ol-s3", "S3 keeps the suffix '--ol-s3' for itself"),
        ("acme.data.mrap", "S3 keeps the suffix '.mrap' for itself"),
        ("acme-data--x-s3", "S3 keeps the suffix '--x-s3' for itself"),
        ("192.168.5.4", "S3 refuses a name written as an IP address"),
    ],
)
def test_a_bucket_name_s3_refuses_is_one_line_naming_the_key(capsys, tmp_path, bucket, why):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({**GOOD, "data_store": {**STORE, "bucket": bucket}}))
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert f"data_store.bucket: '{bucket}' is not an S3 bucket name: {why}" in line, line


@pytest.mark.parametrize("bucket", ["acme-xn--data", "s3alias-acme", "acme-data-1.2.3.4.5", "123", "10.0.0.data"])
def test_names_that_only_look_like_the_reserved_ones_are_accepted(bucket):
    prm = params_mod.from_dict({**GOOD, "data_store": {**STORE, "bucket": bucket}})
    assert prm.get("data_store")["bucket"] == bucket
