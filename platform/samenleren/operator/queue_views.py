"""The operator console's view of the background work: `/operator/jobs` (operator login only).

Counts per queue, failed jobs with Retry and Delete, and the outbox per tenant with "retry
failed". Every action is a POST with CSRF after a confirmation page (GET), as suspending a tenant
is. Redis down: the page says so and still shows the outbox (it lives in the database).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import format_timedelta, gettext
from flask_babel import lazy_gettext as _l

from samenleren.core.tenant import get_tenant_by_slug
from samenleren.core.web import see_other
from samenleren.operator import queues
from samenleren.operator.views import operator_required

bp = Blueprint("operator_jobs", __name__, template_folder="templates")

STATE_NAMES = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "cancelled": _l("Cancelled"),
    "bundled": _l("In a digest"),
}


@bp.get("/operator/jobs")
@operator_required
def show_jobs():
    return render_template(
        "operator/jobs.html",
        overview=queues.queue_overview(),
        outbox=queues.outbox_per_tenant(),
        states=list(queues.NotificationState),
        state_names=STATE_NAMES,
        waited=format_timedelta,
    )


def _failed_or_404(queue_name: str, job_id: str) -> queues.FailedJob:
    try:
        return queues.failed_job(queue_name, job_id)
    except queues.JobNotFound:
        abort(404)
    except queues.RedisError:
        abort(503)


@bp.route("/operator/jobs/<queue_name>/<job_id>/retry", methods=["GET", "POST"])
@operator_required
def retry_job(queue_name: str, job_id: str):
    failed = _failed_or_404(queue_name, job_id)
    if request.method == "GET":
        return render_template("operator/confirm_job.html", job=failed, action="retry")
    try:
        queues.retry_job(queue_name, job_id)
    except queues.JobNotFound:
        abort(404)
    except queues.RedisError:
        abort(503)
    flash(gettext("The job is back in its queue; a worker will run it again."))
    return see_other("operator_jobs.show_jobs")


@bp.route("/operator/jobs/<queue_name>/<job_id>/delete", methods=["GET", "POST"])
@operator_required
def delete_job(queue_name: str, job_id: str):
    failed = _failed_or_404(queue_name, job_id)
    if request.method == "GET":
        return render_template("operator/confirm_job.html", job=failed, action="delete")
    try:
        queues.delete_job(queue_name, job_id)
    except queues.JobNotFound:
        abort(404)
    except queues.RedisError:
        abort(503)
    flash(gettext("The failed job is deleted."))
    return see_other("operator_jobs.show_jobs")


@bp.route("/operator/outbox/<slug>/retry", methods=["GET", "POST"])
@operator_required
def retry_outbox(slug: str):
    tenant = get_tenant_by_slug(slug)
    if tenant is None:
        abort(404)
    if request.method == "GET":
        return render_template("operator/confirm_outbox.html", province=tenant)
    count = queues.retry_failed_notifications(tenant)
    flash(
        gettext(
            "%(count)d failed notifications of %(name)s will be sent again.",
            count=count,
            name=tenant.name,
        )
    )
    return see_other("operator_jobs.show_jobs")
