"""Identity's background work (registered in `identity.init_app`)."""

from __future__ import annotations

import logging

from samenleren.core.extensions import db
from samenleren.core.jobs.runtime import job
from samenleren.identity.sessions import forget_expired_id_tokens

log = logging.getLogger(__name__)


@job(queue="reports")
def forget_id_tokens() -> None:
    """Forget the ID tokens of this tenant's logins that expired without a logout."""
    forgotten = forget_expired_id_tokens()
    db.session.commit()
    if forgotten:
        log.info("identity: %d ID tokens of expired logins forgotten", forgotten)
