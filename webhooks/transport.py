"""Where a webhook may go and how it is sent: address checks (SSRF), signing, one POST.

A host name is resolved once, every address it resolves to is checked, and the
connection goes to a checked address (TLS still verifies the certificate for the
name), so a DNS answer that changes between check and connect cannot redirect a
delivery to an internal service.
"""

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105  (a format prefix, not a secret)


class UrlRefused(Exception):
    """The URL may not receive webhooks; the message says why."""


def secret_generate() -> str:
    """``whsec_`` + base64 of 32 random bytes (Standard Webhooks' secret format)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` keyed with the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _address_refused(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Not globally routable covers loopback, private, link-local (169.254.169.254, the
    # cloud metadata address), shared (100.64/10), reserved and unspecified ranges.
    return not ip.is_global or ip.is_multicast


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as in the URL, for Host and TLS
    port: int
    path: str
    address: str  # where to connect


def url_parse(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("Give an http:// or https:// URL with a host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UrlRefused("The URL's port is not a valid port number.") from exc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def url_target(url: str, *, allow_private: bool | None = None) -> Target:
    """Resolve the URL's host and pick an address to connect to, refusing internal ones."""
    if allow_private is None:
        allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS
    scheme, host, port, path = url_parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UrlRefused(f"The host {host} could not be resolved.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise UrlRefused(f"The host {host} could not be resolved.")
    if not allow_private:
        refused = [a for a in addresses if _address_refused(a)]
        if refused:
            raise UrlRefused(
                f"The host {host} resolves to {refused[0]}, a loopback, private, link-local or reserved "
                "address; webhooks go to public addresses only."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])


def url_check(url: str) -> None:
    """At registration: the URL's form always, its addresses unless private hosts are allowed."""
    url_parse(url)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_HOSTS:
        url_target(url, allow_private=False)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """One POST, redirects not followed, no retries here: the caller records and reschedules."""
    started = time.monotonic()
    status_code: int | None = None
    try:
        target = url_target(url)
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        default_port = 443 if target.scheme == "https" else 80
        if target.port != default_port:
            host_header += f":{target.port}"
        kwargs: dict = {}
        pool_class: type[urllib3.HTTPConnectionPool] = urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool_class = urllib3.HTTPSConnectionPool
            kwargs = {"server_hostname": target.host, "assert_hostname": target.host, "cert_reqs": "CERT_REQUIRED"}
        pool = pool_class(
            target.address, target.port, timeout=urllib3.Timeout(connect=timeout, read=timeout), maxsize=1, **kwargs
        )
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "Host": host_header},
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            status_code = response.status
            snippet = response.read(200, decode_content=False).decode("utf-8", "replace")
            response.release_conn()
        finally:
            pool.close()
        error = "" if 200 <= status_code < 300 else f"HTTP {status_code}: {snippet}".strip()
    except UrlRefused as exc:
        error = f"refused: {exc}"
    except urllib3.exceptions.NewConnectionError as exc:  # a subclass of the timeout error
        error = f"connection error: {exc}"
    except urllib3.exceptions.TimeoutError:
        error = f"timeout: no answer within {timeout:g} s"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        error = f"connection error: {type(exc).__name__}: {exc}"
    return Outcome(status_code=status_code, error=error[:500], duration_ms=int((time.monotonic() - started) * 1000))
