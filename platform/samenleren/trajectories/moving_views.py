"""Template versions and the trajectories that run on them.

* Publishing a draft asks for confirmation, saying how many running trajectories stay on their
  version (the editor in process_templates cannot count trajectories: they are a layer above).
* Moving trajectories in which nothing has happened yet to a newer version of their template:
  the page listing them per version, with the changes and the new due dates.

Programme administrators only; to anyone else the pages look missing (404)."""

from __future__ import annotations

import uuid
from collections import defaultdict

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext, ngettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from samenleren.core.extensions import db
from samenleren.core.web import form_action, get_or_404, role_required, see_other
from samenleren.identity.models import Role
from samenleren.process_templates.models import ProcessTemplate, TemplateVersion, VersionStatus
from samenleren.process_templates.versions.diff import compare_definitions
from samenleren.process_templates.versions.views import overview_url, page_languages, versions_of
from samenleren.trajectories.models import Trajectory, TrajectoryStatus
from samenleren.trajectories.moving import movable_trajectories, move_trajectories, new_due_dates

bp = Blueprint(
    "template_moves", __name__, template_folder="templates", url_prefix="/<tenant>/templates"
)


def _render_move(
    template: ProcessTemplate,
    all_versions: list[TemplateVersion],
    target: TemplateVersion,
    errors: dict[str, str],
    chosen: set[str],
    status: int = 200,
):
    locale, fallback = page_languages()
    trajectories = movable_trajectories(target)
    versions = {version.id: version for version in all_versions}
    groups: dict[uuid.UUID, list] = defaultdict(list)
    for trajectory in trajectories:
        groups[trajectory.template_version_id].append(trajectory)
    diffs = {
        version_id: compare_definitions(
            versions[version_id].definition, target.definition, locale, fallback
        )
        for version_id in groups
    }
    step_names = {}
    if target.status is VersionStatus.PUBLISHED:
        step_names = {step.key: step.name_in(locale, fallback) for step in target.content.steps}
    return render_template(
        "versions/move.html",
        template=template,
        target=target,
        groups=[
            (versions[version_id], groups[version_id])
            for version_id in sorted(groups, key=lambda v: versions[v].number)
        ],
        diffs=diffs,
        due={t.id: new_due_dates(t, target) for t in trajectories},
        step_names=step_names,
        errors=errors,
        chosen=chosen,
        overview=overview_url(template),
    ), status


def running_per_version(template: ProcessTemplate) -> list[tuple[int, int]]:
    """(version number, running trajectories) of a template's versions that have any."""
    return [
        (number, count)
        for number, count in db.session.execute(
            select(TemplateVersion.number, func.count(Trajectory.id))
            .join(Trajectory, Trajectory.template_version_id == TemplateVersion.id)
            .where(
                TemplateVersion.template_id == template.id,
                Trajectory.status == TrajectoryStatus.ACTIVE,
            )
            .group_by(TemplateVersion.number)
            .order_by(TemplateVersion.number)
        )
    ]


@bp.get("/drafts/<uuid:draft_id>/confirm-publish")
@role_required(Role.PROGRAMME_ADMIN)
def confirm_publish(draft_id: uuid.UUID):
    """Before a draft is published: what changes for whom. Running trajectories keep their
    version (so many, on these versions); those that start from now on follow the new one
    when the template is the default."""
    draft = get_or_404(TemplateVersion, draft_id, joinedload(TemplateVersion.template))
    if draft.status is not VersionStatus.DRAFT:
        abort(404)
    running = running_per_version(draft.template)
    return render_template(
        "versions/confirm_publish.html",
        draft=draft,
        template=draft.template,
        running=running,
        total=sum(count for _, count in running),
        overview=overview_url(draft.template),
    )


@bp.route("/<uuid:template_id>/versions/<uuid:version_id>/move", methods=["GET", "POST"])
@role_required(Role.PROGRAMME_ADMIN)
def move(template_id: uuid.UUID, version_id: uuid.UUID):
    """Trajectories on older versions in which nothing has happened yet, to move to this one."""
    template = get_or_404(ProcessTemplate, template_id)
    versions = versions_of(template)
    target = next((version for version in versions if version.id == version_id), None)
    if target is None:
        abort(404)
    if request.method == "GET":
        return _render_move(template, versions, target, {}, set())
    raw_ids = request.form.getlist("trajectory")
    try:
        ids = [uuid.UUID(raw) for raw in raw_ids]
    except ValueError:
        return _render_move(
            template,
            versions,
            target,
            {"trajectory": gettext("Choose trajectories from the list.")},
            set(),
            422,
        )
    return form_action(
        lambda: move_trajectories(target, ids, current_user),
        invalid=lambda errors: _render_move(template, versions, target, errors, set(raw_ids), 422),
        done=see_other("template_moves.move", template_id=template.id, version_id=target.id),
        message=lambda moved: ngettext(
            "%(num)d trajectory now follows version %(number)d.",
            "%(num)d trajectories now follow version %(number)d.",
            moved,
            number=target.number,
        ),
    )
