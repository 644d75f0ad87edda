"""The outbound guard (core/outbound.py): the production policy is tested directly; the test
environment's relaxed policy is what lets the other tests use an IdP on loopback."""

from __future__ import annotations

import ipaddress
import socket

import pytest
import requests
from werkzeug.wrappers import Request, Response

from samenleren.core import outbound
from samenleren.core.outbound import OutboundRefused, Policy
from samenleren.identity.oidc import endpoints_elsewhere
from tests.conftest import serve_wsgi

PRODUCTION = Policy()
ON_PREMISES = Policy(allowed_hosts=frozenset({"adfs.provincie.local"}))

REFUSED_IN_PRODUCTION = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "::1",
    "10.1.2.3",  # RFC 1918
    "172.16.0.1",
    "192.168.1.1",
    "fd00:ec2::254",  # ULA (also the AWS IPv6 metadata service)
    "169.254.169.254",  # link-local: cloud metadata
    "fe80::1",
    "100.64.0.1",  # CGNAT
    "0.0.0.0",  # noqa: S104 - an address to refuse, not to bind
    "::",
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "224.0.0.1",
    "240.0.0.1",
]


@pytest.mark.parametrize("address", REFUSED_IN_PRODUCTION)
def test_production_refuses_every_non_global_address(address: str) -> None:
    with pytest.raises(OutboundRefused):
        PRODUCTION.check_address("idp.example.nl", ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_production_allows_global_addresses(address: str) -> None:
    PRODUCTION.check_address("idp.example.nl", ipaddress.ip_address(address))


def test_an_allowed_on_premises_host_may_be_private_but_never_loopback_or_link_local() -> None:
    host = "ADFS.provincie.local"
    ON_PREMISES.check_address(host, ipaddress.ip_address("10.20.30.40"))
    ON_PREMISES.check_address(host, ipaddress.ip_address("fd12::1"))
    for address in ("127.0.0.1", "169.254.169.254", "fe80::1"):
        with pytest.raises(OutboundRefused):
            ON_PREMISES.check_address(host, ipaddress.ip_address(address))
    with pytest.raises(OutboundRefused):  # only the listed host
        ON_PREMISES.check_address("other.provincie.local", ipaddress.ip_address("10.20.30.40"))


def test_development_allows_loopback_but_never_link_local() -> None:
    relaxed = Policy(relaxed=True)
    relaxed.check_address("localhost", ipaddress.ip_address("127.0.0.1"))
    with pytest.raises(OutboundRefused):
        relaxed.check_address("metadata", ipaddress.ip_address("169.254.169.254"))


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.nl/",
        "ftp://idp.example.nl/",
        "file:///etc/passwd",
        "https://user:pw@idp.example.nl/",
        "https:///nohost",
        "https://idp.example.nl:99999/",
    ],
)
def test_production_fetches_only_plain_https_urls(url: str) -> None:
    with pytest.raises(OutboundRefused):
        PRODUCTION.check_url(url)


def test_every_resolved_address_must_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name with one public and one private address is refused (no picking the good one)."""
    answers = [("93.184.216.34", 443), ("10.0.0.5", 443)]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", sa) for sa in answers],
    )
    with pytest.raises(OutboundRefused, match=r"10\.0\.0\.5"):
        PRODUCTION.resolve("idp.example.nl", 443)


def test_the_connection_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No DNS rebinding gap: the host is resolved once, checked, and that address is used; a
    rebinding name that resolves to loopback is refused before any connection is made."""
    resolved = iter(["93.184.216.34", "127.0.0.1"])
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(resolved), 443))],
    )
    connected: list[tuple] = []

    def connect(address, *args, **kwargs):
        connected.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(outbound.urllib3_connection, "create_connection", connect)
    with outbound.session(PRODUCTION) as guarded:
        with pytest.raises(requests.ConnectionError):
            guarded.get("https://rebind.example.nl/", timeout=2)
        assert connected == [("93.184.216.34", 443)]
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
            guarded.get("https://rebind.example.nl/again", timeout=2)
    assert connected == [("93.184.216.34", 443)]


@pytest.fixture
def loopback_server():
    @Request.application
    def serve(request: Request) -> Response:
        if request.path == "/redirect":
            return Response("", status=302, headers={"Location": "http://169.254.169.254/"})
        return Response('{"ok": true}', mimetype="application/json")

    with serve_wsgi(serve) as url:
        yield url


def test_production_refuses_a_loopback_server_over_the_wire(loopback_server: str) -> None:
    with outbound.session(PRODUCTION) as guarded:
        with pytest.raises(OutboundRefused):
            guarded.get(loopback_server + "/", timeout=2)
        with pytest.raises(OutboundRefused):  # https changes nothing: the address is refused
            guarded.get(loopback_server.replace("http:", "https:") + "/", timeout=2)
    with outbound.session(Policy(relaxed=True)) as relaxed:
        assert relaxed.get(loopback_server + "/", timeout=2).json() == {"ok": True}


def test_no_redirect_is_followed(loopback_server: str) -> None:
    with outbound.session(Policy(relaxed=True)) as guarded:
        answer = guarded.get(loopback_server + "/redirect", timeout=2)
        assert answer.status_code == 302 and not answer.history
        assert (
            guarded.get(loopback_server + "/redirect", timeout=2, allow_redirects=False).status_code
            == 302
        )


def test_environment_proxies_are_not_used(
    loopback_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://169.254.169.254:3128")
    monkeypatch.setenv("NO_PROXY", "")
    with outbound.session(Policy(relaxed=True)) as guarded:
        assert guarded.get(loopback_server + "/", timeout=2).status_code == 200


def test_discovery_endpoints_must_be_on_the_issuers_host(app, monkeypatch) -> None:
    """A discovery document may not send the token request (with the client secret) elsewhere."""
    issuer = "https://login.provincie.nl/tenant"
    document = {
        "issuer": issuer,
        "authorization_endpoint": "https://login.provincie.nl/authorize",
        "token_endpoint": "https://attacker.example/token",
        "jwks_uri": "https://login.provincie.nl/keys",
        "userinfo_endpoint": "http://login.provincie.nl/userinfo",
    }
    with app.app_context():
        monkeypatch.setitem(app.config, "SAMENLEREN_ENV", "production")
        assert endpoints_elsewhere(issuer, document) == ["token_endpoint", "userinfo_endpoint"]
        monkeypatch.setitem(app.config, "SAMENLEREN_OIDC_ALLOWED_HOSTS", ("attacker.example",))
        assert endpoints_elsewhere(issuer, document) == ["userinfo_endpoint"]
