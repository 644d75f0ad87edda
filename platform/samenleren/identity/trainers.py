"""External trainers: people without an account at the tenant's identity provider.

The programme administrator invites one by name and e-mail. That creates a `User` with the trainer
role (given in the application) and a synthetic subject `external:<uuid>` that no IdP login can
take (`identity.services` refuses such a `sub`). They sign in through single-use links that expire
(`SignInLink`; only the token's SHA-256 is stored). Opening a link shows a button; only pressing
it (a POST) signs in and spends the link, so mail scanners that fetch links do not use them up.
Like every trainer they see the editions whose trainer they are (`Edition.trainer_id`).

Until the mail outbox exists, `deliver_sign_in_link` sends nothing: the administrator is shown
the link once, to pass on. A mailer replaces that one function.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from samenleren.audit.services import record
from samenleren.core.db import as_utc, utcnow
from samenleren.core.errors_input import InvalidInput
from samenleren.core.extensions import db
from samenleren.core.text import control_characters_message, has_control_characters
from samenleren.identity.models import Role, RoleAssignment, RoleSource, SignInLink, User
from samenleren.identity.services import EXTERNAL_SUBJECT_PREFIX
from samenleren.identity.sessions import revoke_access, revoke_sign_in_links

log = logging.getLogger(__name__)

NAME_MAX = 200
EMAIL_MAX = 320
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
#: `secrets.token_urlsafe(32)`: 43 characters; anything else is not one of our tokens.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


class LinkState:
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    REPLACED = "replaced"
    ACCESS_WITHDRAWN = "access_withdrawn"


class LinkUnusable(Exception):
    """A sign-in link that exists in this tenant but cannot sign anyone in; `state` says why."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@dataclass(frozen=True)
class IssuedLink:
    """A link just made: the token exists only here (and in the link shown or sent)."""

    user: User
    link: SignInLink
    token: str


@dataclass(frozen=True)
class ExternalTrainer:
    user: User
    #: The newest link, if any.
    latest: SignInLink | None
    latest_state: str | None


def is_external(user: User) -> bool:
    return user.subject.startswith(EXTERNAL_SUBJECT_PREFIX)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.has_role(Role.PROGRAMME_ADMIN):
        raise InvalidInput.form(gettext("Only the programme administrator invites trainers."))


# --- the administrator's side ---------------------------------------------------------------------


def external_trainers() -> list[ExternalTrainer]:
    """Every external trainer of the tenant with their newest link (two queries), by name."""
    users = list(
        db.session.scalars(
            select(User)
            .where(User.subject.startswith(EXTERNAL_SUBJECT_PREFIX, autoescape=True))
            .order_by(User.name, User.id)
        )
    )
    latest: dict[uuid.UUID, SignInLink] = {}
    if users:
        newest = (
            select(SignInLink.user_id, func.max(SignInLink.created_at).label("created_at"))
            .group_by(SignInLink.user_id)
            .subquery()
        )
        for link in db.session.scalars(
            select(SignInLink).join(
                newest,
                (SignInLink.user_id == newest.c.user_id)
                & (SignInLink.created_at == newest.c.created_at),
            )
        ):
            latest[link.user_id] = link
    now = utcnow()
    return [
        ExternalTrainer(
            user,
            latest.get(user.id),
            link_state(latest[user.id], user, now) if user.id in latest else None,
        )
        for user in users
    ]


def _check_invitation(name: str, email: str) -> tuple[str, str]:
    name, email = (name or "").strip(), (email or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = gettext("Give the trainer's name.")
    elif has_control_characters(name):
        errors["name"] = control_characters_message()
    elif len(name) > NAME_MAX:
        errors["name"] = gettext("At most %(count)d characters.", count=NAME_MAX)
    if not email:
        errors["email"] = gettext("Give the trainer's e-mail address.")
    elif has_control_characters(email):
        errors["email"] = control_characters_message()
    elif len(email) > EMAIL_MAX or not EMAIL_PATTERN.match(email):
        errors["email"] = gettext("Give an e-mail address such as name@example.nl.")
    else:
        same = db.session.scalars(
            select(User).where(func.lower(User.email) == email.lower()).limit(5)
        ).all()
        external = next((user for user in same if is_external(user)), None)
        if external is not None:
            errors["email"] = gettext(
                "%(name)s was already invited with this address; send a new link from the list "
                "of external trainers.",
                name=external.name,
            )
        elif any(user.active for user in same):
            errors["email"] = gettext(
                "An employee with this address logs in with the organisation's own account. "
                "Give them the trainer role through their group instead."
            )
    if errors:
        raise InvalidInput(errors)
    return name, email


def invite_external_trainer(name: str, email: str, actor: User | None) -> IssuedLink:
    """A new external trainer with their first sign-in link. Does not commit."""
    _require_admin(actor)
    name, email = _check_invitation(name, email)
    # No identity provider vouches for an external trainer: bound to no issuer.
    user = User(
        subject=f"{EXTERNAL_SUBJECT_PREFIX}{uuid.uuid4()}", issuer=None, name=name, email=email
    )
    user.role_assignments = [RoleAssignment(role=Role.TRAINER, source=RoleSource.APP)]
    db.session.add(user)
    db.session.flush()
    issued = _issue_link(user, actor)
    record(
        "trainer.invited",
        actor=actor,
        actor_label="" if actor is not None else "system",
        subject_type="user",
        subject_id=user.id,
        details={"link_expires_at": as_utc(issued.link.expires_at).isoformat()},
    )
    return issued


def send_new_link(user: User, actor: User) -> IssuedLink:
    """A fresh link for an external trainer; their earlier links stop working. Does not commit."""
    _require_admin(actor)
    if not is_external(user):
        raise InvalidInput.form(gettext("Only external trainers sign in with a link."))
    if not user.active:
        raise InvalidInput.form(
            gettext("%(name)s has no access now; restore it first.", name=user.name)
        )
    issued = _issue_link(user, actor)
    record(
        "trainer.link_sent",
        actor=actor,
        subject_type="user",
        subject_id=user.id,
        details={"link_expires_at": as_utc(issued.link.expires_at).isoformat()},
    )
    return issued


def set_access(user: User, active: bool, actor: User) -> bool:
    """Withdraw (end sessions, void links) or restore an external trainer's access.

    Returns False when nothing changed. Does not commit.
    """
    _require_admin(actor)
    if not is_external(user):
        raise InvalidInput.form(gettext("Only external trainers sign in with a link."))
    if user.active == active:
        return False
    user.active = active
    if not active:
        revoke_access(user)  # sessions, sign-in links and calendar feeds
    record(
        "trainer.access_restored" if active else "trainer.access_withdrawn",
        actor=actor,
        subject_type="user",
        subject_id=user.id,
    )
    return True


def _issue_link(user: User, actor: User | None) -> IssuedLink:
    revoke_sign_in_links(user)
    token = secrets.token_urlsafe(32)
    hours = current_app.config["SAMENLEREN_SIGN_IN_LINK_HOURS"]
    now = utcnow()
    link = SignInLink(
        user_id=user.id,
        token_hash=_hash(token),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(link)
    db.session.flush()
    return IssuedLink(user, link, token)


def sign_in_url(token: str) -> str:
    return url_for("trainers.sign_in_with_link", token=token, _external=True)


def deliver_sign_in_link(user: User, url: str, expires_at: datetime) -> bool:
    """Send `url` to `user`; True when it was sent, False when the administrator must pass it on.

    The mail outbox comes later: replace this function with one that queues a mail. Until then
    nothing is sent; in development the link is also written to the log.
    """
    if current_app.config["SAMENLEREN_ENV"] == "development":
        log.info("sign-in link for %s (valid until %s): %s", user.email, expires_at, url)
    return False


def deliver(issued: IssuedLink) -> tuple[str, bool]:
    """The link's URL, and whether it was delivered (else it is shown to the administrator)."""
    url = sign_in_url(issued.token)
    return url, deliver_sign_in_link(issued.user, url, as_utc(issued.link.expires_at))


# --- the trainer's side ---------------------------------------------------------------------------


def link_state(link: SignInLink, user: User, now: datetime | None = None) -> str:
    now = now or utcnow()
    if link.used_at is not None:
        return LinkState.USED
    if not user.active:
        return LinkState.ACCESS_WITHDRAWN
    if link.revoked_at is not None:
        return LinkState.REPLACED
    if as_utc(link.expires_at) <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


def find_link(token: str, *, for_update: bool = False) -> SignInLink | None:
    """The current tenant's link with this token (another tenant's looks exactly missing)."""
    if not TOKEN_PATTERN.match(token or ""):
        return None
    query = select(SignInLink).where(SignInLink.token_hash == _hash(token))
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query)


def state_of_link(token: str) -> str | None:
    """What the link with this token would do now; None when this tenant has no such link."""
    link = find_link(token)
    if link is None:
        return None
    user = db.session.execute(select(User).where(User.id == link.user_id)).scalar_one()
    return link_state(link, user)


def redeem_link(link: SignInLink) -> User:
    """Spend the link and return the person to sign in; raises `LinkUnusable` otherwise.

    The caller loads the link `for_update`, so two presses at once cannot both sign in, and
    then starts the login session (which commits). A refused press is audited: the caller
    commits that event too.
    """
    user = db.session.execute(select(User).where(User.id == link.user_id)).scalar_one()
    state = link_state(link, user)
    if state != LinkState.VALID:
        record(
            "login.refused",
            actor=user,
            subject_type="user",
            subject_id=user.id,
            details={"method": "link", "reason": f"link_{state}"},
        )
        raise LinkUnusable(state)
    link.used_at = utcnow()
    record(
        "login.succeeded",
        actor=user,
        subject_type="user",
        subject_id=user.id,
        details={"method": "link"},
    )
    return user
