"""Domain events (samenleren.core.signals): documented, connected by the app, and run inside
the sender's transaction, so a receiver that fails takes the change down with it."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from blinker import NamedSignal
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import REPO_ROOT


def _signals() -> dict[str, NamedSignal]:
    from samenleren.core import signals

    return {name: value for name, value in vars(signals).items() if isinstance(value, NamedSignal)}


def test_every_signal_names_its_sender_and_arguments():
    found = _signals()
    assert len(found) >= 12
    for name, signal in found.items():
        assert signal.__doc__ and "sender:" in signal.__doc__, name


def test_the_app_connects_the_effects_to_the_programme(app: Flask):
    from samenleren.calendars import receivers as calendar_receivers
    from samenleren.core import signals
    from samenleren.trajectories import receivers as trajectory_receivers

    def modules(signal: NamedSignal) -> set[str]:
        return {getattr(r, "__module__", "") for r in signal.receivers_for(object())}

    for signal in (
        signals.appointment_scheduled,
        signals.appointment_rescheduled,
        signals.appointment_cancelled,
        signals.meeting_scheduled,
        signals.trajectory_started,
        signals.trajectory_withdrawn,
        signals.coach_changed,
        signals.return_day_planned,
    ):
        assert calendar_receivers.__name__ in modules(signal), signal.name
    for signal in (signals.enrolment_changed, signals.edition_rescheduled):
        assert trajectory_receivers.__name__ in modules(signal), signal.name
    assert "samenleren.process_templates" in modules(signals.tenant_onboarded)


@contextmanager
def _failing(signal: NamedSignal):
    def fail(sender, **kwargs):
        raise RuntimeError("receiver failed")

    signal.connect(fail)
    try:
        yield
    finally:
        signal.disconnect(fail)


def test_a_failing_receiver_rolls_the_senders_change_back(app: Flask, idps):
    from samenleren.core import signals
    from samenleren.core.extensions import db
    from samenleren.core.tenant import Tenant
    from samenleren.demo.devidp import with_issuer
    from samenleren.tenants.manifest import load_manifest
    from samenleren.tenants.services import onboard_tenant

    loaded = with_issuer(
        load_manifest(REPO_ROOT / "tenants" / "flevoland.toml"), idps["flevoland"].issuer
    )
    with app.app_context():
        with _failing(signals.tenant_onboarded), pytest.raises(RuntimeError):
            onboard_tenant(loaded)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Tenant)) == 0
        # Without the failing receiver the same onboarding goes through, with its template.
        tenant = onboard_tenant(loaded).tenant
        assert tenant.slug == "flevoland"
