"""One boto3 session and its clients, built once, with bounded standard retries."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from validator.botodata import data_loader
from validator.bounded import short
from validator.errors import VhvError

T = TypeVar("T")

RETRIES = {"mode": "standard", "max_attempts": 5}
# An error page that is not AWS's XML (a proxy's or a server's HTML 500) fails botocore's parser,
# and botocore does not retry a ResponseParserError: vhv retries such a read itself, this often.
UNPARSABLE_ATTEMPTS = 3
UNPARSABLE_BACKOFF = 0.2  # seconds, times the attempt number


@dataclass(frozen=True)
class Target:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


def endpoint_url(target: Target) -> str | None:
    """The endpoint every client is built with (--endpoint-url, else AWS_ENDPOINT_URL), or None for
    AWS's own. One that botocore or urllib would refuse when a client is built or a call is made
    (`localhost:5000`, `http://[::1`, a port beyond 65535, `http://%zz`) is one line, here."""
    url = target.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        return None
    what = _not_a_url(url)
    if what:
        raise VhvError(f"--endpoint-url (or AWS_ENDPOINT_URL) {short(url)} is not {what}: write it as http://host:port")
    return url


def _not_a_url(url: str) -> str | None:
    """None when botocore and urllib3 take `url` as an endpoint, else what it is not."""
    from botocore.utils import (  # deferred: loads botocore; botocore: not at import
        is_valid_endpoint_url,
        is_valid_ipv6_endpoint_url,
    )

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is no number or beyond 65535)
        if not (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url)):
            return "a URL"
    except ValueError:
        return "a URL"
    return None if parts.scheme in ("http", "https") else "an http:// or https:// URL"  # botocore speaks only these


def session(target: Target) -> Any:
    import boto3  # deferred: loads boto3, botocore; boto3 and botocore when AWS is read, not at import (start-up)
    import botocore.exceptions as bex  # deferred: loads botocore
    import botocore.session  # deferred: loads botocore

    endpoint_url(target)  # before a client is built, or a thread is started to build one
    core = botocore.session.get_session()
    loader = data_loader()
    core.register_component("data_loader", loader)
    try:
        sess = boto3.Session(botocore_session=core, profile_name=target.profile, region_name=target.region)
        core.get_scoped_config()  # a profile that is not there is said here, not at the first call
    except bex.ProfileNotFound as exc:
        raise VhvError(f"AWS profile {target.profile!r} not found ({exc}); check ~/.aws/config or --profile") from None
    # every boto3 session appends its own data directory to the loader's search path: once is enough
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return sess


def client(sess: Any, service: str, target: Target) -> Any:
    from botocore.config import Config  # deferred: loads botocore; botocore when AWS is read, not at import

    endpoint = endpoint_url(target)
    cfg = Config(
        retries=dict(RETRIES),
        connect_timeout=5,
        read_timeout=30,
        max_pool_connections=16,
        user_agent_extra="vhv",
    )
    kwargs: dict[str, Any] = {"config": cfg}
    if endpoint:
        kwargs["endpoint_url"] = endpoint
    try:
        made = sess.client(service, **kwargs)
        if endpoint and service == "s3control":
            made.meta.events.register("before-sign.s3-control", _no_account_host)
        what = None if endpoint else _not_a_url(made.meta.endpoint_url)
    except ValueError:  # botocore's "Invalid endpoint"
        if endpoint:
            raise
        what = "a URL"
    if what:  # not one vhv gave: AWS_ENDPOINT_URL_<SERVICE> or the profile's endpoint_url
        raise VhvError(
            f"the AWS configuration gives {service} an endpoint that is not {what}: check "
            f"AWS_ENDPOINT_URL_{service.upper()} and endpoint_url in the profile (~/.aws/config)"
        )
    return made


def _no_account_host(request: Any, **_: Any) -> None:
    """s3control puts the account id in front of the host (123456789012.s3-control.<region>...):
    right for AWS, a host that does not resolve for an endpoint of one's own (a proxy, a moto
    server), which is asked at its own host (the account id is in a header too)."""
    parts = urlsplit(request.url)
    label, _, rest = parts.netloc.partition(".")
    if label.isdigit() and len(label) == 12 and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


def unparsable_retried(fn: Callable[[], T]) -> T:
    """fn(), tried again (UNPARSABLE_ATTEMPTS in all) while the answer is not one botocore can
    parse; the last such failure is raised. Only for reads: they are safe to repeat."""
    from botocore.parsers import (
        ResponseParserError,  # deferred: loads botocore; botocore when AWS is read, not at import
    )

    for attempt in range(1, UNPARSABLE_ATTEMPTS + 1):
        try:
            return fn()
        except ResponseParserError:
            if attempt == UNPARSABLE_ATTEMPTS:
                raise
            time.sleep(UNPARSABLE_BACKOFF * attempt)
    raise AssertionError("unreachable")


FATAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "RequestExpired",
    "InvalidAccessKeyId",
}
DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}
NOT_FOUND_CODES = {
    "NoSuchEntity",
    # Organizations: the account is in no organisation
    "AWSOrganizationsNotInUseException",
    "InvalidAMIID.NotFound",
    "InvalidAMIID.Unavailable",
    "InvalidAMIID.Malformed",
    "InvalidKeyPair.NotFound",
    "InvalidVolume.NotFound",
    # S3: no such bucket, and a part of a bucket that is not configured (no policy, no CORS, ...):
    # the reader says which of the two it is
    "NoSuchBucket",
    "NoSuchBucketPolicy",
    "NoSuchCORSConfiguration",
    "NoSuchLifecycleConfiguration",
    "NoSuchPublicAccessBlockConfiguration",
    "NoSuchTagSet",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NotFoundException",  # KMS: no key of that id, ARN or alias
}


def fatal(exc: BaseException, endpoint: str | None = None) -> VhvError | None:
    """A failure that means nothing can be read at all: one line for the user."""
    import botocore.exceptions as bex  # deferred: loads botocore; botocore when AWS is read, not at import

    if isinstance(exc, bex.NoCredentialsError):
        return VhvError(
            "no AWS credentials found: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
        )
    if isinstance(exc, (bex.SSOTokenLoadError, bex.UnauthorizedSSOTokenError)):
        return VhvError(f"the SSO session is not logged in or has expired: run `aws sso login` ({type(exc).__name__})")
    if isinstance(exc, bex.TokenRetrievalError):
        return VhvError(f"cannot get a token for the profile: {exc}")
    if isinstance(exc, (bex.EndpointConnectionError, bex.ConnectTimeoutError)):
        return VhvError(
            f"cannot reach the AWS endpoint {getattr(exc, 'kwargs', {}).get('endpoint_url', endpoint or '')}: "
            "check the network, --region and --endpoint-url"
        )
    if isinstance(exc, bex.NoRegionError):
        return VhvError("no AWS region: set region in the params or pass --region")
    if isinstance(exc, bex.ClientError) and error_code(exc) in FATAL_CODES:
        return VhvError(f"AWS rejected the credentials ({error_code(exc)}): {exc.response['Error'].get('Message', '')}")
    return None


def error_code(exc: BaseException) -> str:
    resp = getattr(exc, "response", None) or {}
    return str(resp.get("Error", {}).get("Code", ""))


def describe_failure(exc: BaseException, action: str) -> str:
    """Why a read failed, in words that say what to change."""
    code = error_code(exc)
    if code in DENIED_CODES:
        return f"{action} was denied ({code}): allow {action} for the identity vhv runs as"
    msg = getattr(exc, "response", {}).get("Error", {}).get("Message", "") if code else str(exc)
    return f"{action} failed: {code or type(exc).__name__} {msg}".strip()
