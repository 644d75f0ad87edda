"""Style sheets, scripts and icons from `static/`, kept by browsers until their content changes.

Flask serves static files with `Cache-Control: no-cache`, so every page view asked again for
each of its style sheets and scripts (answered 304, but each one a request through the whole
stack of a web worker). Here `url_for("static", filename=...)` adds the first characters of the
file's SHA-256 (`?v=...`), and a request that names the file's current digest is answered with
a lifetime of a year: a browser asks once per file and deployment. A request without the
digest, or with an old one, is served as before (no-cache), so a page cached from before a
deployment still gets the new file.

Hand-written rather than Flask-Static-Digest or WhiteNoise: both want a build step that writes
digested copies of the files (or Django's manifest storage); the digest of a handful of files,
computed once per process, is all this needs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.security import safe_join

#: How long a browser keeps a file whose URL carries its digest (Flask takes seconds).
A_YEAR = 365 * 24 * 60 * 60
#: Characters of the SHA-256 in the URL: a collision between two versions of one file is
#: what would show an old file, and 12 hex characters make that one in 2**48.
DIGEST_LENGTH = 12


class StaticDigests:
    """The digest of each file in the app's `static/`: read once per process, or on every call
    in development (an edited style sheet shows at the next page view)."""

    def __init__(self, folder: str, remember: bool) -> None:
        self.folder = folder
        self.remember = remember
        self.known: dict[str, str | None] = {}

    def of(self, filename: str) -> str | None:
        if self.remember and filename in self.known:
            return self.known[filename]
        path = safe_join(self.folder, filename)
        digest = None
        if path is not None and Path(path).is_file():
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:DIGEST_LENGTH]
        self.known[filename] = digest
        return digest


def init_app(app: Flask) -> None:
    assert app.static_folder is not None  # the app always has its static folder
    development = app.config["SAMENLEREN_ENV"] == "development"
    digests = StaticDigests(app.static_folder, remember=not development)
    served_as_before = app.get_send_file_max_age

    @app.url_defaults
    def add_digest(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values:
            digest = digests.of(values.get("filename", ""))
            if digest is not None:
                values["v"] = digest

    def get_send_file_max_age(filename: str | None) -> int | None:
        asked = request.args.get("v")
        if filename is not None and asked is not None and asked == digests.of(filename):
            return A_YEAR
        return served_as_before(filename)

    app.get_send_file_max_age = get_send_file_max_age  # type: ignore[method-assign]
