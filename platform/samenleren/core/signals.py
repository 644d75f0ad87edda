"""What happened in the programme, announced to whoever reacts to it (domain events).

The programme (catalogue, coaching, trajectories, process templates) and the organisation
layer send these signals; the effects (notifications, calendars, exports) connect receivers in
their `receivers.py`, from their `init_app`. A sender never knows its receivers, so the
programme imports nothing from the layers above it (docs/architecture.md, "Domain events").

Rules every receiver follows:
* It runs synchronously, **inside the sender's transaction**, before the sender commits: what it
  writes (an outbox row, a calendar sequence number) commits with the change or not at all.
* It does not commit or roll back. An exception propagates to the sender, whose request or job
  then rolls everything back; blinker does not swallow it, so in tests a failing receiver fails
  the test.
* Mail and other slow work is not done here: a receiver writes an outbox row or enqueues a job
  by name, which runs after the commit.

Each signal's docstring names its sender and the keyword arguments it is sent with.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# --- organisation ------------------------------------------------------------------------------

tenant_onboarded = _signals.signal(
    "tenant-onboarded",
    doc="""A tenant was created or updated from its manifest, before the commit.

    sender: the `Tenant`; `created: bool` (first onboarding).""",
)

access_revoked = _signals.signal(
    "access-revoked",
    doc="""A user lost access to the tenant, before the commit: deprovisioned by SCIM (`active`
    false or a DELETE) or an external trainer's access withdrawn. The sender already ended the
    user's login sessions and sign-in links; receivers revoke whatever else opens data without
    a login (calendar feeds), in the same transaction.

    sender: the `User`.""",
)

# --- catalogue ---------------------------------------------------------------------------------

enrolment_changed = _signals.signal(
    "enrolment-changed",
    doc="""An enrolment got a place or lost it (admitted, withdrawn, edition cancelled).

    sender: the `Enrolment`, already flushed with its new status; `admitted: bool` (True when it
    now holds a place, False when it was withdrawn).""",
)

application_received = _signals.signal(
    "application-received",
    doc="""An employee applied for an edition (flushed): they and their manager are told.

    sender: the `Enrolment`, status APPLIED.""",
)

application_answered = _signals.signal(
    "application-answered",
    doc="""An application was answered without a place: the edition was full and the employee
    joined the waiting list, or the application was declined (flushed). A place is
    `enrolment_changed` with `admitted=True`.

    sender: the `Enrolment`, status WAITLISTED or DECLINED.""",
)

edition_rescheduled = _signals.signal(
    "edition-rescheduled",
    doc="""An edition's start or end date changed (flushed).

    sender: the `Edition`.""",
)

# --- trajectories ------------------------------------------------------------------------------

trajectory_started = _signals.signal(
    "trajectory-started",
    doc="""A trajectory and its steps were created for an enrolment (flushed).

    sender: the `Trajectory`.""",
)

trajectory_withdrawn = _signals.signal(
    "trajectory-withdrawn",
    doc="""A trajectory was withdrawn; its open steps are closed (flushed).

    sender: the `Trajectory`.""",
)

appointment_scheduled = _signals.signal(
    "appointment-scheduled",
    doc="""A conversation got a date, time and place for the first time, or was reopened with
    its appointment still ahead. Sent before the flush: receivers may read the ORM's attribute
    history to see what changed.

    sender: the `Trajectory`; `step`: the `StepInstance`.""",
)

appointment_rescheduled = _signals.signal(
    "appointment-rescheduled",
    doc="""A scheduled conversation got a new date, time or place (sent before the flush, as
    `appointment_scheduled`). Saving the same appointment again also sends it; receivers
    decide from the attribute history whether anything changed.

    sender: the `Trajectory`; `step`: the `StepInstance`.""",
)

appointment_cancelled = _signals.signal(
    "appointment-cancelled",
    doc="""A conversation's appointment no longer takes place: the step was skipped, or its
    appointment cancelled (sent before the flush).

    sender: the `Trajectory`; `step`: the `StepInstance`; `actor`: the `User` who cancelled, or
    None when a skip did it.""",
)

step_completed = _signals.signal(
    "step-completed",
    doc="""A step was marked done (flushed).

    sender: the `Trajectory`; `step`: the `StepInstance`; `actor`: the `User`.""",
)

coach_changed = _signals.signal(
    "coach-changed",
    doc="""A trajectory got a coach, or another one (flushed).

    sender: the `Trajectory`; `previous`: the previous coach (`User`) or None.""",
)

meeting_scheduled = _signals.signal(
    "meeting-scheduled",
    doc="""A group meeting (consolidation, return day) got or changed its date, time or place.
    Sent before the flush; receivers read the attribute history.

    sender: the `GroupMeeting`.""",
)

return_day_planned = _signals.signal(
    "return-day-planned",
    doc="""The return day of an edition that has ended was planned (flushed): the members are
    to be invited and the trainer told.

    sender: the `GroupMeeting`; `trainer`: the edition's trainer (`User`) or None.""",
)

# --- budget ------------------------------------------------------------------------------------

edition_costs_changed = _signals.signal(
    "edition-costs-changed",
    doc="""What an edition commits in the budget changed (flushed): its costs were set or
    changed, or it was cancelled.

    sender: the `Edition`.""",
)

budget_threshold_reached = _signals.signal(
    "budget-threshold-reached",
    doc="""Committed plus spent reached a share of the year's budget for the first time that
    year (flushed; sent once per threshold per year).

    sender: the `BudgetYear`; `percent: int` (80 or 100); `used_cents: int` (committed plus
    spent, in euro cents).""",
)
