"""The console's "test SSO": can a tenant's identity provider be used for login, and if not, why.

The same conditions as a real login (`samenleren.identity.oidc`): the discovery document is
reachable, names exactly the configured issuer and the endpoints a login needs, supports the
scopes the platform asks for (at least `openid`), and the signing keys (JWKS) can be fetched.
Every request goes through the outbound guard (`samenleren.core.outbound`: public https
addresses only in production), waits at most `SAMENLEREN_SSO_TEST_TIMEOUT` seconds and follows
no redirect (a discovery document is served where the issuer says; the operator cannot use this
to make the server wander elsewhere). Messages are in plain words, translated, for the operator.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from flask_babel import gettext, ngettext

from samenleren.core.outbound import OutboundRefused
from samenleren.core.outbound import get as outbound_get
from samenleren.identity.oidc import PRIVATE_KEY_JWT, REQUIRED_ENDPOINTS, endpoints_elsewhere


class Outcome(enum.StrEnum):
    OK = "ok"
    UNREACHABLE = "unreachable"
    NOT_A_DISCOVERY_DOCUMENT = "not_a_discovery_document"
    ISSUER_MISMATCH = "issuer_mismatch"
    MISSING_ENDPOINTS = "missing_endpoints"
    ENDPOINTS_ELSEWHERE = "endpoints_elsewhere"
    SCOPES_UNSUPPORTED = "scopes_unsupported"
    JWKS_UNREACHABLE = "jwks_unreachable"
    #: The provider does not list the client authentication method the tenant chose.
    AUTH_METHOD_UNSUPPORTED = "auth_method_unsupported"
    #: The identity provider is fine, but the platform lacks what a login needs of its own
    #: settings (the client secret, the client id).
    SETTINGS_MISSING = "settings_missing"


@dataclass
class SSOReport:
    issuer: str
    outcome: Outcome = Outcome.OK
    #: What was checked and found right, one translated sentence each, in order.
    passed: list[str] = field(default_factory=list)
    #: What is wrong (translated); None when everything passed.
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK


class _Failed(Exception):
    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome, self.message = outcome, message


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def check_identity_provider(
    issuer: str,
    scopes: Iterable[str],
    timeout: float,
    settings_problems: Iterable[str] = (),
    auth_method: str = "client_secret_basic",
) -> SSOReport:
    """Check the provider at `issuer` the way a login would use it; never raises.

    `settings_problems`: what the tenant's own settings lack for a login, in words
    (`identity.sso_setup.login_problems`); any of them fails the test once the provider passed,
    so a test never passes while every login would fail. `auth_method`: how the platform
    authenticates at the token endpoint; a provider that lists the methods it supports must
    list this one.
    """
    report = SSOReport(issuer)
    try:
        _check(report, issuer, list(scopes), timeout, auth_method)
        problems = list(settings_problems)
        if problems:
            raise _Failed(Outcome.SETTINGS_MISSING, " ".join(problems))
        if auth_method == PRIVATE_KEY_JWT:
            report.passed.append(
                gettext("The client id and the key pair for private_key_jwt are set.")
            )
        else:
            report.passed.append(gettext("The client id and the client secret are set."))
    except _Failed as failed:
        report.outcome, report.problem = failed.outcome, failed.message
    return report


def _check_auth_method(report: SSOReport, document: dict[str, Any], method: str) -> None:
    supported = document.get("token_endpoint_auth_methods_supported")
    if not isinstance(supported, list):
        # OpenID Connect Discovery: absent means client_secret_basic only, but many IdPs leave
        # it out; a login shows the truth, so this is said, not failed.
        report.passed.append(
            gettext(
                "It does not list its client authentication methods, so %(method)s could not "
                "be checked in advance.",
                method=method,
            )
        )
        return
    if method not in supported:
        raise _Failed(
            Outcome.AUTH_METHOD_UNSUPPORTED,
            gettext(
                "The identity provider does not accept the client authentication method "
                "%(method)s at its token endpoint (it lists %(supported)s). Choose another "
                "method in the login set-up.",
                method=method,
                supported=", ".join(str(name) for name in supported) or "–",
            ),
        )
    report.passed.append(
        gettext("It accepts the client authentication method %(method)s.", method=method)
    )


def _check(
    report: SSOReport, issuer: str, scopes: list[str], timeout: float, auth_method: str
) -> None:
    url = discovery_url(issuer)
    try:
        document = _fetch_json(url, timeout)
    except _Unfetchable as exc:
        raise _Failed(
            Outcome.UNREACHABLE,
            gettext(
                "The identity provider is unreachable: its discovery document at %(url)s could "
                "not be fetched (%(reason)s).",
                url=url,
                reason=str(exc),
            ),
        ) from None
    if not isinstance(document, dict):
        raise _Failed(
            Outcome.NOT_A_DISCOVERY_DOCUMENT,
            gettext("The answer at %(url)s is not an OpenID Connect discovery document.", url=url),
        )
    report.passed.append(gettext("The discovery document at %(url)s could be fetched.", url=url))

    found = document.get("issuer")
    if found != issuer:
        raise _Failed(
            Outcome.ISSUER_MISMATCH,
            gettext(
                "Issuer mismatch: the identity provider calls itself %(found)s, but this "
                "province is configured with %(configured)s. They must be exactly the same, "
                "including any slash at the end; logins are refused until they are.",
                found=repr(found) if not isinstance(found, str) else found,
                configured=issuer,
            ),
        )
    report.passed.append(gettext("The issuer is %(issuer)s, as configured.", issuer=issuer))

    missing = [name for name in REQUIRED_ENDPOINTS if not document.get(name)]
    if missing:
        raise _Failed(
            Outcome.MISSING_ENDPOINTS,
            gettext(
                "The discovery document does not name every endpoint a login needs; missing: "
                "%(names)s.",
                names=", ".join(missing),
            ),
        )
    elsewhere = endpoints_elsewhere(issuer, document)
    if elsewhere:
        raise _Failed(
            Outcome.ENDPOINTS_ELSEWHERE,
            gettext(
                "The discovery document names %(names)s on another host than the issuer's; "
                "the platform refuses those unless the host is in "
                "SAMENLEREN_OIDC_ALLOWED_HOSTS.",
                names=", ".join(elsewhere),
            ),
        )
    report.passed.append(
        gettext("It names the authorization, token and key (JWKS) endpoints a login needs.")
    )

    supported = document.get("scopes_supported")
    if isinstance(supported, list):
        unsupported = [scope for scope in scopes if scope not in supported]
        if unsupported:
            raise _Failed(
                Outcome.SCOPES_UNSUPPORTED,
                gettext(
                    "The identity provider does not support the scopes %(scopes)s that the "
                    "platform asks for (openid is required for any login).",
                    scopes=", ".join(unsupported),
                ),
            )
        report.passed.append(
            gettext(
                "It supports the scopes the platform asks for: %(scopes)s.", scopes=" ".join(scopes)
            )
        )
    else:
        report.passed.append(
            gettext(
                "It does not list the scopes it supports (that is allowed), so the scopes "
                "%(scopes)s could not be checked in advance.",
                scopes=" ".join(scopes),
            )
        )

    _check_auth_method(report, document, auth_method)

    jwks_url = str(document["jwks_uri"])
    try:
        keys = _fetch_json(jwks_url, timeout)
    except _Unfetchable as exc:
        raise _Failed(
            Outcome.JWKS_UNREACHABLE,
            gettext(
                "The signing keys (JWKS) at %(url)s could not be fetched (%(reason)s), so no ID "
                "token could be checked.",
                url=jwks_url,
                reason=str(exc),
            ),
        ) from None
    count = len(keys.get("keys") or []) if isinstance(keys, dict) else 0
    if not count:
        raise _Failed(
            Outcome.JWKS_UNREACHABLE,
            gettext(
                "The signing keys (JWKS) at %(url)s contain no keys, so no ID token could be "
                "checked.",
                url=jwks_url,
            ),
        )
    report.passed.append(
        ngettext(
            "The signing keys (JWKS) could be fetched: %(num)d key.",
            "The signing keys (JWKS) could be fetched: %(num)d keys.",
            count,
        )
    )


class _Unfetchable(Exception):
    """A URL gave no JSON; the message says why, in words (translated)."""


def _fetch_json(url: str, timeout: float) -> Any:
    try:
        answer = outbound_get(url, timeout=timeout, headers={"Accept": "application/json"})
    except OutboundRefused:
        raise _Unfetchable(
            gettext(
                "the platform does not contact this address: only public https:// addresses, "
                "or hosts in SAMENLEREN_OIDC_ALLOWED_HOSTS"
            )
        ) from None
    except requests.Timeout:
        raise _Unfetchable(
            gettext("no answer within %(seconds)s seconds", seconds=f"{timeout:g}")
        ) from None
    except requests.RequestException:
        raise _Unfetchable(gettext("the server could not be reached")) from None
    if answer.status_code != 200:
        raise _Unfetchable(
            gettext("the server answered with HTTP status %(status)d", status=answer.status_code)
        )
    try:
        return answer.json()
    except ValueError:
        raise _Unfetchable(gettext("the answer is not JSON")) from None
