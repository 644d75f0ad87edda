"""The retention clock of an employee starts when they lose access (`access_revoked`)."""

from __future__ import annotations

from typing import Any

from samenleren.core import signals
from samenleren.retention.erasure import note_departure


def _access_revoked(user: Any, **_: Any) -> None:
    note_departure(user)


def connect() -> None:
    signals.access_revoked.connect(_access_revoked, weak=False)
