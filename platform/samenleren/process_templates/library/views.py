"""Pages of the model library, for programme administrators only.

The library is shared by design: every tenant's administrators see the same entries (browse, an
entry's steps, adopting a copy into their own tenant). Changing an entry is for its publishing
tenant only: withdrawing someone else's entry, or sharing another tenant's version, looks like a
missing page (404), exactly as everywhere else.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext, ngettext
from flask_login import current_user
from sqlalchemy.orm import joinedload

from samenleren.core.config import LANGUAGES
from samenleren.core.extensions import db
from samenleren.core.tenancy import require_tenant
from samenleren.core.web import form_action, get_or_404, require_roles, see_other
from samenleren.identity.models import Role
from samenleren.process_templates.definition import Anchor, StepSpec, TemplateDefinition
from samenleren.process_templates.library.services import (
    DESCRIPTION_LIMIT,
    NAME_LIMIT,
    adopt,
    ensure_builtin,
    entries_of_version,
    get_entry,
    library_entries,
    own_entry,
    publish_to_library,
    withdraw,
)
from samenleren.process_templates.models import LibraryEntry, TemplateVersion, VersionStatus

# The pages' templates are shared with the other features, in process_templates/templates/.
bp = Blueprint("library", __name__, template_folder="../templates", url_prefix="/<tenant>/library")
require_roles(bp, Role.PROGRAMME_ADMIN)


def _entry_or_404(entry_id: uuid.UUID) -> LibraryEntry:
    entry = get_entry(entry_id)
    if entry is None:
        abort(404)
    return entry


# --- describing a step's timing ---------------------------------------------------------------


def _offset(months: int, days: int) -> str:
    parts = []
    if months:
        parts.append(ngettext("%(num)d month", "%(num)d months", abs(months)))
    if days:
        parts.append(ngettext("%(num)d day", "%(num)d days", abs(days)))
    return (
        gettext("%(first)s and %(second)s", first=parts[0], second=parts[1])
        if len(parts) == 2
        else parts[0]
    )


def describe_timing(step: StepSpec, content: TemplateDefinition, locale: str) -> str:
    """ "14 days after enrolment", "at the end of the edition", "3 months after “Evaluation”"."""
    timing = step.timing
    if timing.step is not None:  # anchored to a step (the definition names it exactly then)
        other = content.step(timing.step)
        anchor = "“%s”" % (other.name_in(locale) if other else timing.step)
    else:
        anchor = {
            Anchor.ENROLMENT: gettext("enrolment"),
            Anchor.EDITION_START: gettext("the start of the edition"),
            Anchor.EDITION_END: gettext("the end of the edition"),
        }[timing.anchor]
    months, days = timing.offset_months, timing.offset_days
    if not months and not days:
        return gettext("At %(anchor)s", anchor=anchor)
    if months >= 0 and days >= 0:
        return gettext("%(offset)s after %(anchor)s", offset=_offset(months, days), anchor=anchor)
    if months <= 0 and days <= 0:
        return gettext("%(offset)s before %(anchor)s", offset=_offset(months, days), anchor=anchor)
    return gettext(
        "%(months)s months and %(days)s days from %(anchor)s",
        months=months,
        days=days,
        anchor=anchor,
    )


# --- the library ------------------------------------------------------------------------------


@bp.get("/")
def browse() -> str:
    if ensure_builtin():
        db.session.commit()
    entries = library_entries()
    return render_template("library/browse.html", entries=entries)


@bp.get("/<uuid:entry_id>")
def show_entry(entry_id: uuid.UUID) -> str:
    entry = _entry_or_404(entry_id)
    tenant = require_tenant()
    return render_template(
        "library/show_entry.html",
        entry=entry,
        content=entry.content,
        describe_timing=describe_timing,
        is_own=entry.publisher_tenant_id == tenant.id,
    )


@bp.route("/<uuid:entry_id>/adopt", methods=["GET", "POST"])
def adopt_entry(entry_id: uuid.UUID) -> ResponseReturnValue:
    entry = _entry_or_404(entry_id)
    if request.method == "GET":
        return render_template("library/adopt.html", entry=entry, errors={})
    return form_action(
        lambda: adopt(entry, current_user),
        invalid=lambda errors: render_template("library/adopt.html", entry=entry, errors=errors),
        done=lambda draft: see_other("process_templates.show_draft", draft_id=draft.id),
        message=gettext(
            "“%(name)s” is now one of your process templates, as a draft: adapt it and publish it.",
            name=entry.name_in(str(get_locale() or "nl")),
        ),
    )


@bp.route("/<uuid:entry_id>/withdraw", methods=["GET", "POST"])
def withdraw_entry(entry_id: uuid.UUID) -> ResponseReturnValue:
    entry = own_entry(entry_id)
    if entry is None:
        abort(404)
    if request.method == "GET":
        return render_template("library/withdraw.html", entry=entry, errors={})
    return form_action(
        lambda: withdraw(entry, current_user),
        invalid=lambda errors: render_template("library/withdraw.html", entry=entry, errors=errors),
        done=see_other("library.browse"),
        message=gettext("The model is withdrawn from the library."),
    )


# --- sharing a version of one's own --------------------------------------------------------


def _share_values(version: TemplateVersion) -> dict[str, str]:
    values = {f"name_{lang}": version.template.name.get(lang, "") for lang in LANGUAGES}
    values.update({f"description_{lang}": "" for lang in LANGUAGES})
    return values


def _render_share(version: TemplateVersion, values: dict[str, str], errors: dict[str, str]) -> str:
    return render_template(
        "library/share.html",
        version=version,
        values=values,
        errors=errors,
        languages=LANGUAGES,
        shared=entries_of_version(version),
        name_limit=NAME_LIMIT,
        description_limit=DESCRIPTION_LIMIT,
    )


@bp.route("/share/<uuid:version_id>", methods=["GET", "POST"])
def share_version(version_id: uuid.UUID) -> ResponseReturnValue:
    version = get_or_404(TemplateVersion, version_id, joinedload(TemplateVersion.template))
    if version.status is not VersionStatus.PUBLISHED:
        abort(404)
    if request.method == "GET":
        return _render_share(version, _share_values(version), {})
    values = {
        f"{part}_{lang}": request.form.get(f"{part}_{lang}", "")
        for part in ("name", "description")
        for lang in LANGUAGES
    }
    return form_action(
        lambda: publish_to_library(
            version,
            {lang: values[f"name_{lang}"] for lang in LANGUAGES},
            {lang: values[f"description_{lang}"] for lang in LANGUAGES},
            current_user,
        ),
        invalid=lambda errors: _render_share(version, values, errors),
        done=lambda entry: see_other("library.show_entry", entry_id=entry.id),
        message=gettext(
            "The version is in the library: every organisation's administrators see it."
        ),
        multiline=("description_*",),
    )
