"""`core.db`'s SQL functions mean the same on PostgreSQL and on SQLite (the embedded default)."""

from __future__ import annotations

import uuid

import pytest
from flask import Flask
from sqlalchemy import Uuid, literal, select

from samenleren.core.db import JSONType, json_digit_at, uuid_text
from samenleren.core.extensions import db

KEY = uuid.UUID("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
DOCUMENTS = [
    ({str(KEY): 3}, 3),
    ({str(KEY): 1, "other": 5}, 1),
    ({str(KEY): 5}, 5),
    ({str(KEY): 9}, 9),
    ({str(KEY): 0}, None),
    ({str(KEY): 10}, None),
    ({str(KEY): -3}, None),
    ({str(KEY): 3.5}, None),
    ({str(KEY): "3"}, None),
    ({str(KEY): None}, None),
    ({str(KEY): [3]}, None),
    ({"other": 3}, None),
    ({}, None),
]


@pytest.fixture(params=["postgresql", "sqlite"])
def database_app(request: pytest.FixtureRequest) -> Flask:
    return request.getfixturevalue("app" if request.param == "postgresql" else "sqlite_app")


def test_uuid_text_is_what_str_writes(database_app: Flask) -> None:
    with database_app.app_context():
        written = db.session.scalar(select(uuid_text(literal(KEY, Uuid()))))
    assert written == str(KEY)


@pytest.mark.parametrize(("document", "expected"), DOCUMENTS)
def test_json_digit_at_reads_whole_numbers_from_1_to_9_only(
    database_app: Flask, document: dict, expected: int | None
) -> None:
    with database_app.app_context():
        found = db.session.scalar(
            select(json_digit_at(literal(document, JSONType), uuid_text(literal(KEY, Uuid()))))
        )
    assert found == expected
