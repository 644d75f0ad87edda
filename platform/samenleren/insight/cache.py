"""The report's figures kept in Redis until the programme's data changes.

A large tenant's year takes PostgreSQL the better part of a second to count (docs/performance.md,
"Programme report at national scale"), while the figures change only when someone completes a
step, rates a result, enrols, books an expense: far less often than an adviser opens the report,
changes a filter and back, prints it or downloads its CSV. So the page keeps what it computed,
per tenant and scope, under the tenant's change counter (`core.changes`): the first commit that
writes to what the figures read makes every kept entry unreachable, and the next view counts
afresh. Entries expire after `SAMENLEREN_INSIGHT_CACHE_SECONDS` (default an hour, 0: no cache)
and at the end of the day (the costs' forecast is about today).

Only figures are kept: counts, shares, labels of trainings, trainers and organisation goals - no
person's name or text (the figures hold none, `insight.figures`). The key names the tenant, so a
tenant's figures are only ever read in that tenant, and the scope, which for a manager's team
view includes the manager. Serialised as JSON (pydantic), never pickled: whoever could write to
Redis must not be able to make the application run code.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, replace

from flask import current_app
from pydantic import TypeAdapter

from samenleren.core import changes
from samenleren.core.formatting import local_today
from samenleren.core.tenancy import current_tenant_id
from samenleren.insight.figures import Figures, figures
from samenleren.insight.scope import Scope

WATCH = "insight"
#: Raised when what `Figures` holds changes shape: older entries are then never read.
FORMAT = 1

# Writes that never change a figure: the report reads trajectories, their steps, goals, results
# and ratings, editions, trainings, group meetings, coach days, template versions, the budget
# and, of users, who manages them, their department and a trainer's name.
changes.watch(
    WATCH,
    ignored_tables=frozenset(
        {
            "audit_events",
            "audit_verifications",
            "calendar_feeds",
            "client_keys",
            "coach_assignments",
            "coach_profiles",
            "edition_sessions",
            "exports",
            "field_values",
            "insight_comparisons",
            "insight_mail_opt_outs",
            "insight_quarterly_mails",
            "insight_sharing",
            "legal_holds",
            "login_sessions",
            "notifications",
            "process_templates",
            "retention_departures",
            "retention_periods",
            "role_assignments",
            "scim_group_members",
            "scim_groups",
            "scim_tokens",
            "session_attendances",
            "sign_in_links",
        }
    ),
    read_columns={
        "users": frozenset({"manager_id", "department_id", "name"}),
        "step_instances": frozenset({"state", "step_key", "trajectory_id"}),
    },
)


@functools.cache
def _adapter() -> TypeAdapter[Figures]:
    return TypeAdapter(Figures)


def _entry(scope: Scope) -> str:
    """What the scope selects (not how the form spelled it), on which day, in which format."""
    selected = {k: v for k, v in asdict(scope).items() if k != "form"}
    return hashlib.sha256(
        json.dumps([FORMAT, str(local_today()), selected], default=str, sort_keys=True).encode()
    ).hexdigest()[:32]


def report_figures(scope: Scope) -> Figures:
    """`figures(scope)`, from the cache when nothing changed since they were counted."""
    found = changes.kept(
        WATCH,
        current_tenant_id(),
        _entry(scope),
        _adapter(),
        lambda: figures(scope),
        seconds=int(current_app.config.get("SAMENLEREN_INSIGHT_CACHE_SECONDS", 0)),
    )
    return replace(found, scope=scope)
