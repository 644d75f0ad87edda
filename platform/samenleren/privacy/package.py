"""A personal data package as a file: one ZIP with the data as JSON (machine-readable, layout in
docs/privacy/my-data-schema.md) and the same as a readable HTML page."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from flask import render_template
from flask_babel import gettext

from samenleren.exports.files import ZIP_TYPE, ExportFile
from samenleren.privacy.labels import SECTIONS, key_label, section_label

JSON_NAME = "data.json"
HTML_NAME = "index.html"


def count_records(data: dict[str, Any]) -> int:
    """How many records the package holds (the rows the exports list counts)."""
    total = 0
    for value in data.values():
        if isinstance(value, list):
            total += len(value)
    return total


def package_file(data: dict[str, Any], stem: str, generated_at: str) -> ExportFile:
    data = {"generated_at": generated_at, **data}
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
    page = render_template(
        "privacy/package.html",
        data=data,
        sections=[key for key in SECTIONS if key in data],
        key_label=key_label,
        section_label=section_label,
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, text.encode("utf-8"))
        archive.writestr(HTML_NAME, page.encode("utf-8"))
        archive.writestr(
            "README.txt",
            gettext(
                "index.html: your data to read in a browser. data.json: the same data, "
                "machine-readable (layout: %(schema)s).",
                schema=data["schema"],
            ).encode("utf-8"),
        )
    return ExportFile(f"{stem}.zip", ZIP_TYPE, buffer.getvalue())
