"""Property-based fuzzing (hypothesis): hostile input never makes a server error, and a refused
request writes nothing.

* every form: each POST rule of the URL map, as every role (and anonymously), on the isolation
  walk's world (`tests/test_isolation.py`: both tenants, their objects, a login per role). The
  fields to post are read off the pages that role can open (a crawl of every GET route); each
  example keeps, drops or replaces them with generated values: empty, very long, unicode,
  control characters, wrong types (numbers, dates, JSON, markup) and the other tenant's ids;
  it adds duplicates and unknown fields;
* SCIM: generated JSON (and broken bodies) to every resource, with a valid bearer token;
* every upload: the template import and the operator's manifest upload, with generated files
  (mutations of a valid file, deep nesting, binary, oversized).

Each answer must be below 500. A refused answer (4xx) must leave every tenant table as it was:
a fingerprint (row count and a digest of the rows) of every table is compared before and after.
The runs are deterministic (`derandomize=True`) and bounded (`SAMENLEREN_FUZZ_EXAMPLES`
examples per form and role, default 3); the form walk is one of the long walks (`slow`).
"""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import REPO_ROOT, login, make_user, operator_login
from tests.factories import World
from tests.test_isolation import (
    ROLES,
    SIGNS_IN_ON_POST,
    Walk,
    _build_walk,
    methods_of,
    tenant_rules,
    url,
    valid_csrf_token,
)

EXAMPLES = int(os.environ.get("SAMENLEREN_FUZZ_EXAMPLES", "3"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

#: Tables a refused request may still write, each with its reason.
WRITTEN_ON_REFUSAL = {
    # Reading is audited: a refused form page shows the values the user may read again,
    # confidential ones included, and that read is recorded like any other.
    "audit_events": "every read of confidential values is audited, also on a refused form",
    # A SCIM client's token records when it was last used (at most once a minute), whatever the
    # request asked for.
    "scim_tokens": "a SCIM token's last use is recorded on every authenticated request",
}

#: SCIM answers 501 Not Implemented for what the service provider does not offer (RFC 7644,
#: 3.7: bulk operations; its ServiceProviderConfig says `bulk.supported = false`).
SCIM_NOT_IMPLEMENTED = {"Bulk"}

# --- generated values -------------------------------------------------------------------------

CONTROL = st.sampled_from(["\r\n", "\n", "\r", "\x00", "\x1b[31m", "\x7f", "\x85", "\u2028", "\t"])
ODD = st.sampled_from(
    [
        "-1",
        "0",
        "1e309",
        "NaN",
        "9" * 40,
        "true",
        "null",
        "[]",
        '{"a": 1}',
        "0x1F",
        "1.5",
        "2027-02-30",
        "9999-12-31",
        "0001-01-01",
        "2027-13-01T25:61",
        "../../etc/passwd",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "%00",
        '=HYPERLINK("http://x")',
        "\ufeff",
        "🙂" * 30,
        "Ĳsselmeer\u0301",
        "ﷺ" * 40,
        "a" * 301,
    ]
)
LONG = st.sampled_from([501, 2_001, 10_001, 100_000]).map(lambda n: "x" * n)


def hostile(other_ids: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.just(""),
        st.text(max_size=30),
        st.builds(lambda a, c, b: a + c + b, st.text(max_size=8), CONTROL, st.text(max_size=8)),
        LONG,
        ODD,
        st.uuids().map(str),
        st.sampled_from(other_ids),
    )


@st.composite
def submissions(draw, fields: list[tuple[str, str]], other_ids: list[str]) -> list:
    """The form's fields kept, dropped or replaced; sometimes a duplicate or an unknown one."""
    values = hostile(other_ids)
    pairs = []
    for name, value in fields:
        fate = draw(st.sampled_from(["keep", "drop", "replace", "replace"]))
        if fate == "keep":
            pairs.append((name, value))
        elif fate == "replace":
            pairs.append((name, draw(values)))
    names = [name for name, _ in fields]
    if names and draw(st.booleans()):
        pairs.append((draw(st.sampled_from(names)), draw(values)))
    if not names or draw(st.integers(0, 3)) == 0:
        pairs.append((draw(st.text(min_size=1, max_size=12)), draw(values)))
    return pairs


# --- what a refusal must leave alone ---------------------------------------------------------


class Fingerprint:
    """Row count and a digest of the rows of every table, in one query (as the superuser that
    empties the tables between tests, so that row-level security hides nothing)."""

    def __init__(self, tables) -> None:
        self.connection = tables.connection
        parts = [
            sql.SQL(
                "SELECT {name}, count(*), "
                "coalesce(md5(string_agg(md5(t::text), ',' ORDER BY md5(t::text))), '') "
                "FROM {table} t"
            ).format(name=sql.Literal(name), table=sql.Identifier(name))
            for name in tables.names
            if name not in WRITTEN_ON_REFUSAL
        ]
        self.query = sql.SQL(" UNION ALL ").join(parts)

    def take(self) -> dict[str, tuple[int, str]]:
        return {row[0]: (row[1], row[2]) for row in self.connection.execute(self.query)}


def changed(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


# --- the forms a role sees --------------------------------------------------------------------


class _Forms(HTMLParser):
    """Every form of a page: its action -> the (name, value) pairs a browser would send, plus
    every option of its selects (as extra candidates)."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self.current: list[tuple[str, str]] | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "form":
            if (attributes.get("method") or "get").lower() != "post":
                self.current = None
                return
            action = urlsplit(attributes.get("action") or self.page_path).path
            self.current = self.forms.setdefault(action, [])
        elif self.current is None or not name:
            if tag == "option" and self.current is not None and self.select:
                self.current.append((self.select, attributes.get("value") or ""))
            return
        elif tag == "input":
            if attributes.get("type") not in {"submit", "button", "file"}:
                self.current.append((name, attributes.get("value") or ""))
        elif tag == "select":
            self.select = name
        elif tag == "textarea":
            self.textarea = name
            self.current.append((name, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_seen(app: Flask, client: FlaskClient, slug: str, objects: dict) -> dict:
    """action path -> fields, from every GET route of the tenant filled with its own objects."""
    found: dict[str, list[tuple[str, str]]] = {}
    for rule in tenant_rules(app):
        if "GET" not in rule.methods or rule.rule in SIGNS_IN_ON_POST:
            continue
        path = url(rule, slug, objects)
        answer = client.get(path)
        page = answer.get_data(as_text=True) if answer.mimetype == "text/html" else ""
        # Closed as a server closes it: a streamed download keeps its request context until then.
        answer.close()
        assert answer.status_code < 500, f"GET {path}: {answer.status_code}"
        if answer.status_code != 200:
            continue
        reader = _Forms(path)
        reader.feed(page)
        for action, fields in reader.forms.items():
            found.setdefault(action, fields)
    return found


# --- the form walk ----------------------------------------------------------------------------


def client_of(app: Flask, walk: Walk, slug: str, role: str | None) -> FlaskClient:
    """A client logged in as `role` at `slug` (its session cookie from the walk), no request."""
    client = app.test_client()
    if role is not None:
        cookie, _ = walk.logins[slug, role]
        client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return client


def post_form(app: Flask, client: FlaskClient, path: str, pairs: list) -> object:
    token = valid_csrf_token(app, client)
    return client.post(path, data=MultiDict([*pairs, ("csrf_token", token)]))


def _build_fuzz_walk(app: Flask, tenants: dict) -> Walk:
    """The isolation walk, with the home tenant's roles logged in as the people of its world
    (`tests.factories.World`: the learner of its trajectory, that trajectory's coach, the
    learner's manager, the edition's trainer), so that the forms of a trajectory are reached."""
    walk = _build_walk(app, tenants)
    logins = dict(walk.logins)
    for role in ("learner", "coach", "manager", "trainer"):
        client = app.test_client()
        assert login(client, tenants["flevoland"], World.subjects[role]).status_code == 302
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        logins["flevoland", role] = (cookie.decoded_value, (World.subjects[role],))
    return Walk(walk.tenants, walk.objects, logins)


@pytest.mark.slow
@pytest.mark.parametrize("role", [*ROLES, None], ids=lambda role: role or "anonymous")
def test_every_form_survives_hostile_input_and_a_refusal_writes_nothing(
    app, snapshot, _tables, role
):
    build: Callable = lambda tenants: _build_fuzz_walk(app, tenants)  # noqa: E731
    walk: Walk = snapshot("fuzz.walk", build)
    fingerprint = Fingerprint(_tables)
    home, other = "flevoland", "gelderland"
    objects = walk.objects[home]
    other_ids = [str(value) for value in walk.objects[other].values()]
    forms = forms_seen(app, client_of(app, walk, home, role), home, objects) if role else {}
    # Reading the pages may write (a calendar feed made on first sight): start from the world as
    # the snapshot holds it, so that a later reset is needed only after a form really wrote.
    _tables.empty()
    snapshot("fuzz.walk", build)
    base = fingerprint.take()
    state = {"before": base}
    problems: list[str] = []
    fuzzed = 0
    statuses: dict[int, int] = {}

    def fuzz_form(path: str, where: str, strategy: st.SearchStrategy) -> None:
        @FUZZ
        @given(strategy)
        def post_hostile(pairs: list) -> None:
            client = client_of(app, walk, home, role)
            answer = post_form(app, client, path, pairs)
            after = fingerprint.take()
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            shown = [(name, value[:60]) for name, value in pairs]
            assert answer.status_code < 500, f"{where}: {answer.status_code} for {shown}"
            if 400 <= answer.status_code < 500:
                wrote = changed(state["before"], after)
                assert not wrote, f"{where}: {answer.status_code} but wrote {wrote} for {shown}"
            state["before"] = after

        post_hostile()

    for rule in tenant_rules(app):
        if "POST" not in methods_of(rule):
            continue
        if state["before"] != base:  # the last form wrote something: start from the world again
            _tables.empty()
            snapshot("fuzz.walk", build)
            state["before"] = fingerprint.take()
        path = url(rule, home, objects)
        fields = [(n, v) for n, v in forms.get(path, []) if n != "csrf_token"]
        probe = post_form(app, client_of(app, walk, home, role), path, [])
        after = fingerprint.take()
        where = f"POST {rule.rule} as {role or 'anonymous'}"
        if probe.status_code >= 500:
            problems.append(f"{where} with an empty form: {probe.status_code}")
        if 400 <= probe.status_code < 500 and changed(state["before"], after):
            problems.append(f"{where}: refused and wrote {changed(state['before'], after)}")
        state["before"] = after
        if probe.status_code == 404 and path not in forms:
            continue  # this role cannot reach the route (404 as if it did not exist)
        fuzzed += 1

        fuzz_form(path, where, submissions(fields, other_ids))
    assert not problems, "\n".join(problems)
    print(f"\n{role}: {fuzzed} forms fuzzed, answers {sorted(statuses.items())}")
    if role in {"programme_admin", "learner"}:
        # The fuzzing proves something only when the forms are reached, and both refused (422)
        # and accepted (303).
        assert fuzzed >= 5, "the walk reached (almost) no form"
        assert statuses.get(422) and statuses.get(303), statuses


# --- SCIM ---------------------------------------------------------------------------------------


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def scim_bodies(draw, known_user: str) -> tuple[str, str, bytes]:
    """A method, a SCIM path and a body: a user or group resource with hostile values, a PATCH
    with generated operations, generated JSON, or bytes that are no JSON at all."""
    method = draw(st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET"]))
    target = draw(
        st.sampled_from(
            [
                "Users",
                f"Users/{known_user}",
                f"Users/{uuid.uuid4()}",
                "Groups",
                f"Groups/{uuid.uuid4()}",
                "Users/.search",
                "Bulk",
                "Users?filter=" + draw(st.sampled_from(['userName eq "x', "(((", 'a eq "b"'])),
            ]
        )
    )
    text = hostile(["00000000-0000-0000-0000-000000000000"])
    kind = draw(st.sampled_from(["user", "patch", "json", "bytes"]))
    if kind == "user":
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": draw(text),
            "displayName": draw(text),
            "active": draw(st.one_of(st.booleans(), text)),
            "emails": [{"value": draw(text), "primary": True}],
            "externalId": draw(text),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "manager": {"value": draw(text)},
                "department": draw(text),
            },
        }
        raw = json.dumps(body).encode()
    elif kind == "patch":
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {
                    "op": draw(st.sampled_from(["add", "replace", "remove", "explode"])),
                    "path": draw(st.one_of(text, st.sampled_from(["active", "displayName"]))),
                    "value": draw(JSON),
                }
            ],
        }
        raw = json.dumps(body).encode()
    elif kind == "json":
        raw = json.dumps(draw(JSON)).encode()
    else:
        raw = draw(st.binary(max_size=200))
    return method, target, raw


def test_scim_survives_hostile_requests_and_a_refusal_writes_nothing(app, tenants, _tables):
    from samenleren.core.extensions import db
    from samenleren.scim.tokens import create_token
    from tests.factories import in_tenant

    flevoland = tenants["flevoland"]
    with in_tenant(app, flevoland):
        _, secret = create_token("Fuzz", actor_label="test")
        db.session.commit()
    with app.app_context():
        known = make_user(flevoland, "fuzz.bekend", "learner", name="Fuzz Bekend")
    client = app.test_client()
    fingerprint = Fingerprint(_tables)
    state = {"before": fingerprint.take()}
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}

    @settings(FUZZ, max_examples=EXAMPLES * 20)
    @given(scim_bodies(str(known)))
    def request_hostile(request: tuple[str, str, bytes]) -> None:
        method, target, raw = request
        answer = client.open(
            f"/scim/v2/flevoland/{target}", method=method, data=raw, headers=headers
        )
        after = fingerprint.take()
        where = f"{method} {target} {raw[:200]!r}"
        if not (answer.status_code == 501 and target in SCIM_NOT_IMPLEMENTED):
            assert answer.status_code < 500, f"{where}: {answer.status_code}"
        if 400 <= answer.status_code < 500:
            wrote = changed(state["before"], after)
            assert not wrote, f"{where}: {answer.status_code} but wrote {wrote}"
        state["before"] = after

    request_hostile()


# --- uploads ----------------------------------------------------------------------------------


def post_files(client: FlaskClient, path: str, values: dict) -> object:
    """A multipart post encoded here, in memory (the test client would spool a large body to a
    temporary file that it never closes)."""
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _mutations(valid: str) -> st.SearchStrategy[bytes]:
    """Files near a valid one and far from it: lines dropped, duplicated or with hostile values,
    deep nesting, binary, the wrong encoding, too large."""

    @st.composite
    def mutated(draw) -> bytes:
        lines = valid.splitlines()
        for _ in range(draw(st.integers(1, 4))):
            index = draw(st.integers(0, len(lines) - 1))
            fate = draw(st.sampled_from(["drop", "duplicate", "value", "garbage"]))
            line = lines[index]
            if fate == "drop":
                del lines[index]
            elif fate == "duplicate":
                lines.insert(index, line)
            elif fate == "value" and "=" in line:
                key = line.split("=", 1)[0]
                value = draw(hostile(["00000000-0000-0000-0000-000000000000"]))
                lines[index] = f"{key}= {json.dumps(value)}"
            else:
                lines[index] = draw(st.text(max_size=40))
            if not lines:
                lines = [""]
        return "\n".join(lines).encode("utf-8", "surrogatepass")

    depth = st.integers(50, 5000)
    return st.one_of(
        mutated(),
        depth.map(lambda n: ("a = " + "[" * n + "]" * n).encode()),
        depth.map(lambda n: ("a = " + "{b = " * n + "1" + "}" * n).encode()),
        st.binary(max_size=300),
        st.just(valid.encode("utf-16")),
        st.just(b"x = 1\n" * 200_000),
    )


def test_the_template_import_survives_hostile_files_and_a_refusal_writes_nothing(
    app, tenants, _tables
):
    from samenleren.core.extensions import db
    from samenleren.process_templates.services import current_version
    from samenleren.process_templates.versions.files import export_version
    from tests.factories import in_tenant

    flevoland = tenants["flevoland"]
    with app.app_context():
        make_user(flevoland, "fuzz.beheer", "programme_admin", name="Fuzz Beheer")
    with in_tenant(app, flevoland):
        valid = export_version(current_version(), "Flevoland")
        db.session.rollback()
    client = app.test_client()
    assert login(client, flevoland, "fuzz.beheer", name="Fuzz Beheer").status_code == 302
    fingerprint = Fingerprint(_tables)
    state = {"before": fingerprint.take()}

    @settings(FUZZ, max_examples=EXAMPLES * 8)
    @given(_mutations(valid), st.sampled_from(["model.toml", "model.txt", "", "../../x.toml"]))
    def upload(content: bytes, filename: str) -> None:
        token = valid_csrf_token(app, client)
        answer = post_files(
            client,
            "/flevoland/templates/import",
            {"csrf_token": token, "file": FileStorage(io.BytesIO(content), filename)},
        )
        after = fingerprint.take()
        where = f"{filename!r} {content[:120]!r}"
        assert answer.status_code < 500, f"{where}: {answer.status_code}"
        if 400 <= answer.status_code < 500:
            wrote = changed(state["before"], after)
            assert not wrote, f"{where}: {answer.status_code} but wrote {wrote}"
        state["before"] = after

    upload()


def test_the_manifest_upload_survives_hostile_files_and_a_refusal_writes_nothing(
    app, tenants, operator_idp, _tables
):
    console = app.test_client()
    assert operator_login(console, operator_idp, name="Olga Operator").status_code == 302
    valid = (
        (REPO_ROOT / "tenants" / "flevoland.toml")
        .read_text()
        .replace('slug = "flevoland"', 'slug = "fuzzland"')
    )
    fingerprint = Fingerprint(_tables)
    state = {"before": fingerprint.take()}

    @settings(FUZZ, max_examples=EXAMPLES * 8)
    @given(_mutations(valid), st.one_of(st.none(), st.binary(max_size=200)))
    def upload(content: bytes, logo: bytes | None) -> None:
        token = valid_csrf_token(app, console)
        data: dict = {
            "csrf_token": token,
            "manifest": FileStorage(io.BytesIO(content), "fuzzland.toml"),
        }
        if logo is not None:
            data["logo"] = FileStorage(io.BytesIO(logo), "logo.png")
        answer = post_files(console, "/operator/tenants/upload", data)
        after = fingerprint.take()
        where = f"{content[:120]!r} logo={logo is not None}"
        assert answer.status_code < 500, f"{where}: {answer.status_code}"
        if 400 <= answer.status_code < 500:
            wrote = changed(state["before"], after)
            assert not wrote, f"{where}: {answer.status_code} but wrote {wrote}"
        state["before"] = after

    upload()


def test_the_fingerprint_sees_a_write(app, tenants, _tables) -> None:
    """The comparison above can fail: a change of one row changes the fingerprint."""
    fingerprint = Fingerprint(_tables)
    before = fingerprint.take()
    with app.app_context():
        make_user(tenants["flevoland"], "fuzz.nieuw", "learner")
    assert "users" in changed(before, fingerprint.take())
