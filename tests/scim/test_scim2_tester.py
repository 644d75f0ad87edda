"""`scim2-tester` (the SCIM RFC compliance checks) against the real app, over HTTP.

The app is served on a loopback port (`serve_wsgi`) against the test database, and the checker
talks to Flevoland's endpoint with a valid token, exactly as an identity provider would: it reads
the discovery endpoints, then creates, reads, lists, searches, replaces, patches (add, replace,
remove of every published attribute) and deletes users and groups. Every check must succeed; a
check may only be skipped when listed below with the reason `scim2-tester` gives (none is).
"""

from __future__ import annotations

import collections

from tests.conftest import serve_wsgi

#: Checks that may be skipped, with (part of) the reason that must be given. Empty: every
#: check of scim2-tester 0.5 applies to what we serve and passes.
ALLOWED_SKIPS: dict[str, str] = {}


def _checker():
    """httpx2, scim2-client's engine for it and scim2-tester, imported when a test runs: building
    their models takes seconds, which every worker would otherwise spend collecting the suite."""
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    return httpx2, SyncSCIMClient, Status, check_server


def test_scim2_tester_passes_every_check(app, scim):
    httpx2, SyncSCIMClient, Status, check_server = _checker()
    with serve_wsgi(app) as base_url:
        http = httpx2.Client(
            base_url=f"{base_url}/scim/v2/flevoland",
            headers={"Authorization": f"Bearer {scim.token}"},
            timeout=30,
        )
        with http:
            results = check_server(SyncSCIMClient(http))

    counts = collections.Counter(result.status for result in results)
    failures = [
        f"{result.status.name} {result.resource_type or ''} {result.title}: {result.reason}"
        for result in results
        if result.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    assert not failures, "\n".join(failures)
    for result in results:
        if result.status is Status.SKIPPED:
            assert result.title in ALLOWED_SKIPS, (result.title, result.reason)
            assert ALLOWED_SKIPS[result.title] in (result.reason or ""), result.reason
    passed, skipped = counts[Status.SUCCESS], counts[Status.SKIPPED]
    print(f"\nscim2-tester: {passed} checks passed, {skipped} skipped, 0 failed")
    # Both resource types were exercised (not just the discovery endpoints).
    assert {r.resource_type for r in results if r.status is Status.SUCCESS} >= {"User", "Group"}
    assert passed >= 80  # 82 with scim2-tester 0.5.2


def test_scim2_tester_fails_without_a_valid_token(app, tenants, tokens):
    """The run above proves something: with a token of another tenant nothing gets through."""
    httpx2, SyncSCIMClient, Status, check_server = _checker()
    with serve_wsgi(app) as base_url:
        http = httpx2.Client(
            base_url=f"{base_url}/scim/v2/flevoland",
            headers={"Authorization": f"Bearer {tokens['gelderland']}"},
            timeout=30,
        )
        with http:
            results = check_server(SyncSCIMClient(http))
    assert not any(result.status is Status.SUCCESS for result in results)
