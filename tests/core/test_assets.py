"""Style sheets and scripts carry their content's digest in the URL and are kept for a year
under it (`core.assets`); without it, or with an old one, they are served as before."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask import Flask

from samenleren.core.assets import A_YEAR, StaticDigests
from tests.conftest import TenantRef

STYLESHEET = "samenleren.css"


def _digest(app: Flask, filename: str) -> str:
    assert app.static_folder is not None
    content = (Path(app.static_folder) / filename).read_bytes()
    return hashlib.sha256(content).hexdigest()[:12]


def test_a_page_names_its_style_sheets_by_digest_and_they_are_kept_for_a_year(
    app: Flask, tenants: dict[str, TenantRef]
) -> None:
    client = app.test_client()
    page = client.get(f"/{tenants['flevoland'].slug}/").get_data(as_text=True)
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert f"/static/{STYLESHEET}?v={_digest(app, STYLESHEET)}" in links
    static = [link for link in links if link.startswith("/static/")]
    assert len(static) >= 2, links
    assert all(re.search(r"\?v=[0-9a-f]{12}$", link) for link in static), links

    # (Each file response is closed: the test client does not read it to the end.)
    with client.get(f"/static/{STYLESHEET}?v={_digest(app, STYLESHEET)}") as kept:
        assert kept.status_code == 200
        assert kept.cache_control.public
        assert kept.cache_control.max_age == A_YEAR
        assert not kept.cache_control.no_cache


def test_without_the_current_digest_a_file_is_asked_again_each_time(app: Flask) -> None:
    client = app.test_client()
    for url in (f"/static/{STYLESHEET}", f"/static/{STYLESHEET}?v=000000000000"):
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert response.cache_control.no_cache, url
            assert not response.cache_control.max_age, url
    # A file that is not there gets no digest, and stays a 404.
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="bestaat-niet.css") == "/static/bestaat-niet.css"
    assert client.get("/static/bestaat-niet.css?v=000000000000").status_code == 404
    # Nor does a name that leaves the folder.
    assert StaticDigests(app.static_folder or "", remember=True).of("../core/assets.py") is None


def test_a_changed_file_gets_a_new_digest(tmp_path: Path) -> None:
    sheet = tmp_path / "site.css"
    sheet.write_text("body { color: black; }")
    remembered = StaticDigests(str(tmp_path), remember=True)
    development = StaticDigests(str(tmp_path), remember=False)
    first = remembered.of("site.css")
    assert first == development.of("site.css")
    sheet.write_text("body { color: navy; }")
    assert development.of("site.css") not in (None, first)
    # In production the file does not change while the process runs: read once.
    assert remembered.of("site.css") == first
