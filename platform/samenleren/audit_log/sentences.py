"""Each audit event as a sentence for a person: who did what to which thing, by name.

"Femke van Geffen published version 2 of the template 'Flevoland model'": one sentence per
`AuditAction` (a test fails when an action is added without one), in the reader's language.
The names come from `Names`, resolved for a whole page (or a batch of the export) at once; a
value the event does not have reads as a word ("someone", "?"), never as an id or a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import format_currency, format_date, gettext
from flask_babel import lazy_gettext as _l

from samenleren.audit.events import REFUSAL_REASONS, ROLE_LABELS, AuditAction, action_label
from samenleren.audit.models import AuditEvent
from samenleren.core.terminology import ROLE_TERMS, in_sentence, role_term

A = AuditAction

#: One sentence per action. Placeholders: `actor` (who did it), `subject` (the person, group,
#: token or organisation it is about, by name) and the event's facts by name (`template`,
#: `number`, `role`, `coach`, `issuer`, ...).
SENTENCES = {
    A.LOGIN_SUCCEEDED: _l("%(actor)s logged in"),
    A.LOGIN_REFUSED: _l("The login of %(actor)s was refused: %(reason)s"),
    A.LOGOUT: _l("%(actor)s logged out"),
    A.ROLE_ADDED: _l("%(actor)s gave %(subject)s the role of %(role)s"),
    A.ROLE_REMOVED: _l("%(actor)s took the role of %(role)s away from %(subject)s"),
    A.COACH_ASSIGNED: _l("%(actor)s assigned %(coach)s as learning coach to %(subject)s"),
    A.APPLICATION_MANAGER_APPROVED: _l(
        "%(actor)s approved the application of %(subject)s for %(training)s as their manager"
    ),
    A.APPLICATION_MANAGER_DISCUSS: _l(
        "%(actor)s asked to discuss the application of %(subject)s for %(training)s first"
    ),
    A.APPLICATION_DECIDED_WITHOUT_MANAGER: _l(
        "%(actor)s decided on the application of %(subject)s for %(training)s without waiting "
        "for the manager's approval"
    ),
    A.VALUES_VIEWED: _l("%(actor)s viewed recorded answers in the trajectory of %(subject)s"),
    A.AUDIT_EXPORTED: _l("%(actor)s downloaded the audit log"),
    A.SSO_CHANGED: _l("%(actor)s changed the login settings (SSO)"),
    A.SSO_TESTED: _l("%(actor)s tested the login settings (SSO)"),
    A.SSO_ISSUER_REQUESTED: _l("%(actor)s asked to change to the identity provider %(issuer)s"),
    A.SSO_ISSUER_APPROVED: _l("%(actor)s approved the identity provider %(issuer)s"),
    A.SSO_ISSUER_REJECTED: _l("%(actor)s turned down the identity provider %(issuer)s"),
    A.USER_RELINKED: _l(
        "%(actor)s linked the account of %(subject)s to the identity provider %(issuer)s"
    ),
    A.SSO_SETUP_LINK_ISSUED: _l(
        "%(actor)s made a one-time link for entering the client secret of %(subject)s"
    ),
    A.FIRST_ADMINS_NAMED: _l(
        "%(actor)s named the first programme administrators of %(subject)s (%(count)s)"
    ),
    A.SSO_KEY_CREATED: _l("%(actor)s made the key pair for the identity provider"),
    A.SSO_KEY_ROTATED: _l(
        "%(actor)s replaced the key pair for the identity provider; the previous one stays "
        "published until it is retired"
    ),
    A.SSO_KEY_RETIRED: _l("%(actor)s retired the previous key pair for the identity provider"),
    A.USER_IDENTITY_RELINKED: _l(
        "%(actor)s unlinked the account of %(subject)s from its Entra ID identity; the next "
        "login links it anew"
    ),
    A.TRAINER_INVITED: _l("%(actor)s invited %(subject)s as external trainer"),
    A.TRAINER_LINK_SENT: _l("%(actor)s sent %(subject)s a sign-in link"),
    A.TRAINER_ACCESS_WITHDRAWN: _l("%(actor)s withdrew the access of external trainer %(subject)s"),
    A.TRAINER_ACCESS_RESTORED: _l("%(actor)s restored the access of external trainer %(subject)s"),
    A.SCIM_USER_CREATED: _l("%(actor)s provisioned the employee %(subject)s (SCIM)"),
    A.SCIM_USER_UPDATED: _l("%(actor)s updated the employee %(subject)s (SCIM)"),
    A.SCIM_USER_DEACTIVATED: _l("%(actor)s deprovisioned the employee %(subject)s (SCIM)"),
    A.SCIM_GROUP_CHANGED: _l("%(actor)s changed the group %(subject)s (SCIM)"),
    A.SCIM_TOKEN_CREATED: _l("%(actor)s created the SCIM token %(subject)s"),
    A.SCIM_TOKEN_REVOKED: _l("%(actor)s revoked the SCIM token %(subject)s"),
    A.TENANT_ONBOARDED: _l("%(actor)s onboarded %(subject)s"),
    A.TENANT_SUSPENDED: _l("%(actor)s suspended %(subject)s"),
    A.TENANT_RESUMED: _l("%(actor)s resumed %(subject)s"),
    A.LIBRARY_PUBLISHED: _l(
        "%(actor)s shared version %(number)s of the template '%(template)s' in the model library"
    ),
    A.LIBRARY_WITHDRAWN: _l(
        "%(actor)s withdrew the template '%(template)s' from the model library"
    ),
    A.LIBRARY_ADOPTED: _l("%(actor)s adopted the template '%(template)s' from the model library"),
    A.TERMINOLOGY_CHANGED: _l("%(actor)s changed the terminology"),
    A.ACCESSIBILITY_STATEMENT_CHANGED: _l("%(actor)s changed the accessibility statement"),
    A.PRIVACY_STATEMENT_CHANGED: _l("%(actor)s changed the privacy statement"),
    A.EXPORT_REQUESTED: _l("%(actor)s asked for an export of the programme data (%(format)s)"),
    A.EXPORT_DOWNLOADED: _l("%(actor)s downloaded an export of the programme data (%(format)s)"),
    A.TEMPLATE_DRAFT_STARTED: _l(
        "%(actor)s started draft version %(number)s of the template '%(template)s'"
    ),
    A.TEMPLATE_PUBLISHED: _l(
        "%(actor)s published version %(number)s of the template '%(template)s'"
    ),
    A.TEMPLATE_DRAFT_DISCARDED: _l(
        "%(actor)s discarded draft version %(number)s of the template '%(template)s'"
    ),
    A.TEMPLATE_MADE_DEFAULT: _l("%(actor)s made the template '%(template)s' the default"),
    A.TEMPLATE_IMPORTED: _l(
        "%(actor)s imported version %(number)s of the template '%(template)s' from a file"
    ),
    A.TRAJECTORY_MOVED: _l(
        "%(actor)s moved the trajectory of %(subject)s from version %(from_number)s to version"
        " %(number)s of the template '%(template)s'"
    ),
    A.CALENDAR_FEED_CREATED: _l("%(actor)s made a personal calendar link for %(subject)s"),
    A.CALENDAR_FEED_REVOKED: _l("%(actor)s revoked the personal calendar link of %(subject)s"),
    A.EDITION_COSTS_CHANGED: _l("%(actor)s changed the costs of the edition %(subject)s"),
    A.BUDGET_SET: _l("%(actor)s set the budget of %(year)s"),
    A.BUDGET_ACTUAL_ADDED: _l("%(actor)s added an expense of %(amount)s of %(day)s to the budget"),
    A.BUDGET_ACTUAL_CHANGED: _l("%(actor)s changed an expense of %(amount)s of %(day)s"),
    A.BUDGET_ACTUAL_DELETED: _l(
        "%(actor)s removed an expense of %(amount)s of %(day)s from the budget"
    ),
    A.BUDGET_IMPORTED: _l("%(actor)s imported %(rows)s expenses from the file %(filename)s"),
    A.BUDGET_CATEGORIES_RENAMED: _l("%(actor)s renamed budget categories"),
    A.RETENTION_CHANGED: _l("%(actor)s changed a retention period"),
    A.LEGAL_HOLD_PLACED: _l("%(actor)s placed a legal hold on %(subject)s"),
    A.LEGAL_HOLD_LIFTED: _l("%(actor)s lifted the legal hold on %(subject)s"),
    A.RETENTION_APPLIED: _l("%(actor)s applied the retention periods"),
    A.USER_ANONYMISED: _l("%(actor)s anonymised %(subject)s, who left"),
    A.AUDIT_PRUNED: _l("%(actor)s removed the audit events past their retention"),
    A.REGISTER_EXPORTED: _l("%(actor)s downloaded the processing register (%(format)s)"),
    A.PERSONAL_DATA_REQUESTED: _l("%(actor)s asked for the personal data package of %(subject)s"),
    A.PERSONAL_DATA_DOWNLOADED: _l("%(actor)s downloaded the personal data package of %(subject)s"),
    A.PROFILE_RECTIFIED: _l("%(actor)s corrected the profile of %(subject)s"),
    A.TRAJECTORY_RESTRICTED: _l(
        "%(actor)s restricted the trajectory of %(subject)s from further processing"
    ),
    A.TRAJECTORY_RESTRICTION_LIFTED: _l(
        "%(actor)s lifted the restriction of the trajectory of %(subject)s"
    ),
    A.INSIGHT_SHARING_ON: _l(
        "%(actor)s shared the organisation's aggregated figures in the comparison"
    ),
    A.INSIGHT_SHARING_OFF: _l("%(actor)s stopped sharing the organisation's aggregated figures"),
    A.INSIGHT_COMPARISON_COMPUTED: _l(
        "%(actor)s computed the comparison with other organisations for %(year)s"
    ),
    A.INSIGHT_QUARTERLY_MAIL_ON: _l("%(actor)s asked for the quarterly report mail"),
    A.INSIGHT_QUARTERLY_MAIL_OFF: _l("%(actor)s stopped the quarterly report mail"),
}

#: For an event whose action this version does not know (recorded by a newer one, or by hand).
GENERIC_SENTENCE = _l("%(actor)s: %(action)s")
UNKNOWN_ACTION = _l("something this version of Samen Leren does not describe")


@dataclass
class Names:
    """Names of what a page of events is about, by kind and by stored id (or template key)."""

    #: subject kind ("user", "trajectory", "tenant", "scim_group", ...) → stored id → name.
    subjects: dict[str, dict[str, str]] = field(default_factory=dict)
    #: template key → name in the reader's language.
    templates: dict[str, str] = field(default_factory=dict)

    def subject(self, kind: str, key: str) -> str | None:
        return self.subjects.get(kind, {}).get(key)


class _Values(dict):
    """The placeholders of a sentence; one the event lacks reads as a question mark."""

    def __missing__(self, key: str) -> str:
        return "?"


def _role(role: Any) -> str:
    """The role's word in the tenant's terminology, as used inside a sentence."""
    if str(role) in ROLE_TERMS:
        return in_sentence(role_term(str(role)))
    return str(ROLE_LABELS.get(str(role), gettext("an unknown role")))


def _money(snapshot: Any) -> tuple[str, str]:
    if not isinstance(snapshot, Mapping):
        return "?", "?"
    amount = snapshot.get("amount_cents")
    spent = snapshot.get("spent_on")
    money = format_currency(amount / 100, "EUR") if isinstance(amount, int) else "?"
    day = "?"
    if isinstance(spent, str):
        try:
            day = format_date(date.fromisoformat(spent), "medium")
        except ValueError:
            day = spent
    return money, day


def actor_text(event: AuditEvent) -> str:
    if event.actor_label:
        return event.actor_label
    if event.action == A.LOGIN_REFUSED:
        return gettext("an unknown account")
    if (event.details or {}).get("source") == "idp":
        return gettext("The identity provider")
    return gettext("Samen Leren")


#: Subjects whose name the event records in its details (subject type → detail).
_RECORDED_NAME = {"scim_group": "display_name", "scim_token": "name"}


def subject_text(event: AuditEvent, names: Names) -> str:
    """The thing the event is about, by name; a word when it has none (or is gone)."""
    name = names.subject(event.subject_type, event.subject_id)
    if name:
        return name
    # SCIM groups and tokens: named in the event itself (the faces do not read each other).
    recorded = _RECORDED_NAME.get(event.subject_type)
    if recorded and (event.details or {}).get(recorded):
        return str(event.details[recorded])
    if event.subject_type in ("user", "trajectory") or not event.subject_type:
        return gettext("someone")
    return gettext("an item that no longer exists")


def sentence(event: AuditEvent, names: Names) -> str:
    """The event as one sentence in the reader's language."""
    details = event.details or {}
    values = _Values(actor=actor_text(event), subject=subject_text(event, names))
    for key in ("number", "from_number", "issuer", "count", "year", "rows", "filename"):
        if details.get(key) not in (None, ""):
            values[key] = str(details[key])
    if "format" in details:
        values["format"] = str(details["format"]).upper()
    if "role" in details:
        values["role"] = _role(details["role"])
    if "reason" in details:
        values["reason"] = str(REFUSAL_REASONS.get(details["reason"], gettext("another reason")))
    else:
        values["reason"] = gettext("no reason given")
    values["coach"] = str(details.get("coach_name") or gettext("a learning coach"))
    values["training"] = str(details.get("training") or gettext("a training"))
    template_key = details.get("template")
    if template_key:  # a template deleted since: its short name
        values["template"] = names.templates.get(str(template_key), str(template_key))
    money = details.get("after") if details.get("after") is not None else details.get("before")
    values["amount"], values["day"] = _money(money)
    known = event.action in _KNOWN
    template = SENTENCES.get(AuditAction(event.action)) if known else None
    if template is None:
        values["action"] = action_label(event.action) if known else str(UNKNOWN_ACTION)
        return str(GENERIC_SENTENCE) % values
    return str(template) % values


_KNOWN = frozenset(action.value for action in AuditAction)
