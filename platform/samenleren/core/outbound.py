"""The one guarded HTTP client for every request the server makes to an address someone typed.

A tenant's administrator chooses the issuer of the tenant's identity provider, and the discovery
document at that issuer names further endpoints (token, keys, userinfo). Without a guard the
server would fetch whatever those name: its own loopback services, the private network behind
it, the cloud's metadata service (server-side request forgery). Every outbound fetch (discovery,
JWKS, token, userinfo, the operator's "test SSO") therefore goes through `session()` or `get()`:

* in production only `https://` URLs, without user name or password in them;
* the host is resolved when the connection is made and every address it resolves to is checked;
  the connection goes to the address that was checked, so a name that resolves differently a
  moment later (DNS rebinding) gains nothing. Refused: loopback, private (RFC 1918, ULA),
  shared (CGNAT), link-local (which holds the cloud metadata service), multicast, reserved and
  unspecified addresses: anything that is not a global unicast address;
* no redirect is followed;
* proxies from the environment are not used (the address checked must be the one connected to).

Hosts named in `SAMENLEREN_OIDC_ALLOWED_HOSTS` (comma-separated, set by the platform operator,
never by a tenant) may resolve to private addresses: an identity provider on premises.
Loopback and link-local addresses stay refused for them too.

Only in development and test (`SAMENLEREN_ENV`) are `http://` and loopback and private addresses
allowed, for the development identity provider on localhost; link-local never.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(requests.ConnectionError):
    """The server will not fetch this URL; the message says why in plain (English) words."""


@dataclass(frozen=True)
class Policy:
    #: Development and test: `http://`, loopback and private addresses allowed.
    relaxed: bool = False
    #: Hosts (lower case) the operator allows to be on a private network.
    allowed_hosts: frozenset[str] = frozenset()

    def check_url(self, url: str) -> str:
        """The URL's host (lower case); `OutboundRefused` when the URL may not be fetched."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            parts.port  # noqa: B018 - raises ValueError for a port that is no number
        except ValueError:
            raise OutboundRefused(f"not a valid URL: {url[:200]!r}") from None
        if parts.scheme not in ("https", "http") or not host:
            raise OutboundRefused(f"not an http(s) URL: {url[:200]!r}")
        if parts.scheme == "http" and not self.relaxed:
            raise OutboundRefused(f"only https:// addresses are fetched: {url[:200]!r}")
        if parts.username is not None or parts.password is not None:
            raise OutboundRefused("a URL with a user name or password is not fetched")
        return host

    def check_address(self, host: str, address: IPAddress) -> None:
        """`OutboundRefused` unless the server may connect to `address` for `host`."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if (
            address.is_link_local
            or address.is_multicast
            or address.is_unspecified
            or (address.is_loopback and not self.relaxed)
        ):
            raise OutboundRefused(f"{host} resolves to {address}, which is never fetched")
        if address.is_global or address.is_loopback:
            return
        if self.relaxed or host.lower().rstrip(".") in self.allowed_hosts:
            if address.is_private or _is_shared(address):
                return
        raise OutboundRefused(
            f"{host} resolves to {address}, a private or reserved address "
            "(allowed only for hosts in SAMENLEREN_OIDC_ALLOWED_HOSTS)"
        )

    def resolve(self, host: str, port: int) -> str:
        """One checked address of `host`; every address it resolves to must pass."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OutboundRefused(f"{host} cannot be resolved") from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise OutboundRefused(f"{host} cannot be resolved")
        for address in addresses:
            self.check_address(host, address)
        return str(addresses[0])

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts


def _is_shared(address: IPAddress) -> bool:
    return isinstance(address, ipaddress.IPv4Address) and address in _SHARED


_SHARED = ipaddress.ip_network("100.64.0.0/10")


def parse_allowed_hosts(raw: str) -> frozenset[str]:
    return frozenset(host.strip().lower().rstrip(".") for host in raw.split(",") if host.strip())


def current_policy() -> Policy:
    """The policy of the running application, or outside one of the environment (production
    unless SAMENLEREN_ENV says otherwise: strict)."""
    if not has_app_context():
        return Policy(
            relaxed=os.environ.get("SAMENLEREN_ENV", "production").strip().lower()
            in ("development", "test"),
            allowed_hosts=parse_allowed_hosts(os.environ.get("SAMENLEREN_OIDC_ALLOWED_HOSTS", "")),
        )
    config = current_app.config
    return Policy(
        relaxed=config.get("SAMENLEREN_ENV", "production") in ("development", "test"),
        allowed_hosts=frozenset(config.get("SAMENLEREN_OIDC_ALLOWED_HOSTS", ())),
    )


class _GuardedConnectionMixin:
    """Resolves and checks the host when the socket is made, and connects to the checked address.
    The host name itself stays in place for TLS (SNI and certificate checking)."""

    outbound_policy: Policy
    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> socket.socket:
        try:
            address = self.outbound_policy.resolve(self._dns_host, self.port)
        except OutboundRefused as exc:
            # Not an OSError, so urllib3 neither retries nor hides it; the adapter unwraps it.
            raise _AddressRefused(str(exc)) from None
        try:
            return urllib3_connection.create_connection(
                (address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self._dns_host} timed out") from exc
        except OSError as exc:
            # The mixin is only ever mixed into urllib3's HTTP(S)Connection.
            raise NewConnectionError(self, f"Failed to establish a connection: {exc}") from exc  # type: ignore[arg-type]


class _AddressRefused(Exception):
    """Carries an `OutboundRefused` from the connection through urllib3 to the adapter."""


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedAdapter(HTTPAdapter):
    """A transport adapter whose connections are checked by `policy`."""

    def __init__(self, policy: Policy) -> None:
        self.outbound_policy = policy
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        policy = self.outbound_policy

        class Pool(HTTPConnectionPool):
            ConnectionCls = type(
                "Connection", (_GuardedHTTPConnection,), {"outbound_policy": policy}
            )

        class SecurePool(HTTPSConnectionPool):
            ConnectionCls = type(
                "SecureConnection", (_GuardedHTTPSConnection,), {"outbound_policy": policy}
            )

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        raise OutboundRefused("outbound requests do not go through a proxy")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.outbound_policy.check_url(request.url or "")
        kwargs["proxies"] = {}
        try:
            return super().send(request, *args, **kwargs)
        except _AddressRefused as exc:
            raise OutboundRefused(str(exc), request=request) from None


def guard(session: requests.Session, policy: Policy | None = None) -> requests.Session:
    """Make `session` (a `requests.Session`, also Authlib's) fetch only what `policy` allows,
    without following redirects and without environment proxies."""
    policy = policy or current_policy()
    adapter = _GuardedAdapter(policy)
    session.adapters.clear()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False
    # A redirect is never followed: the 3xx answer is what the caller gets.
    session.get_redirect_target = _no_redirect_target  # type: ignore[method-assign, assignment]
    return session


def _no_redirect_target(response: requests.Response) -> None:
    return None


def session(policy: Policy | None = None) -> requests.Session:
    """A new guarded `requests.Session`."""
    return guard(requests.Session(), policy)


def get(url: str, *, timeout: float, headers: dict[str, str] | None = None) -> requests.Response:
    """GET `url` through the guard, without following a redirect (a 3xx is returned as is)."""
    with session() as guarded:
        return guarded.get(url, timeout=timeout, headers=headers, allow_redirects=False)


def same_host_or_allowed(url: str, issuer: str, policy: Policy | None = None) -> bool:
    """Whether `url` is on the host of `issuer` or on a host the operator allowed, with a scheme
    the policy fetches."""
    policy = policy or current_policy()
    try:
        host = policy.check_url(url)
        issuer_host = (urlsplit(issuer).hostname or "").lower()
    except (OutboundRefused, ValueError):
        return False
    if policy.relaxed and host in LOOPBACK_NAMES and issuer_host in LOOPBACK_NAMES:
        return True  # development: the IdP on localhost may name itself 127.0.0.1, and so on
    return host == issuer_host or policy.host_allowed(host)


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
