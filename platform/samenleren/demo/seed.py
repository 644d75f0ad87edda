"""Realistic Dutch demo data for one tenant, the same every time for the same slug.

The people are made by Faker's `nl_NL` provider seeded with the slug, so Flevoland and Gelderland
get different names but each gets the same names on every run; seeding twice adds nothing.
Roles come from IdP groups, exactly as a real login would bring them in (see the tenant's
`[roles.groups]` mapping), so that a demo user's first login changes nothing. On these people the
Flevoland model runs: coaches, coach days, editions and trajectories in every state
(`samenleren.demo.programme`).
"""

from __future__ import annotations

import random
import re
import unicodedata
import zlib
from dataclasses import dataclass, field

from faker import Faker
from flask_babel import force_locale
from sqlalchemy import select

from samenleren.catalogue.models import Training
from samenleren.core.extensions import db
from samenleren.core.tenancy import tenant_scope
from samenleren.core.tenant import Tenant
from samenleren.demo.programme import seed_programme
from samenleren.demo.story import mid_trajectory
from samenleren.identity.models import Department, User
from samenleren.identity.services import roles_for_groups, sync_idp_roles

DEPARTMENTS = (
    "Ruimte en Economie",
    "Wegen en Vaarwegen",
    "Natuur en Water",
    "Bedrijfsvoering",
    "Personeel en Organisatie",
    "Financiën en Control",
    "Communicatie",
    "Juridische Zaken",
)
EMPLOYEES_PER_DEPARTMENT = 6
COACHES = 13  # Flevoland's pool after four years (seed)

TRAININGS = (
    (
        "Effectief communiceren",
        "Helder en verbindend communiceren met collega's, bestuurders en inwoners.",
        "Bureau Dialoog",
        True,
        12,
    ),
    (
        "Projectmatig werken",
        "Projecten opzetten, plannen en beheersen volgens de methode van de provincie.",
        "ProjectAcademie",
        True,
        14,
    ),
    (
        "Adviesvaardigheden",
        "Overtuigend adviseren aan bestuur en management.",
        "De Adviesschool",
        True,
        10,
    ),
    (
        "Omgevingswet in de praktijk",
        "Werken met omgevingsvisie, -programma en -verordening.",
        "Kenniscentrum Omgevingsrecht",
        False,
        16,
    ),
    (
        "Coachend leidinggeven",
        "Leidinggeven dat medewerkers eigenaar maakt van hun ontwikkeling.",
        "Leiderschap & Leren",
        False,
        8,
    ),
    (
        "Presentatietechnieken",
        "Presenteren voor Provinciale Staten en in het gebied.",
        "Spreekkracht",
        True,
        10,
    ),
    ("Timemanagement en prioriteren", "Grip op werkdruk en agenda.", "Bureau Balans", True, 15),
    (
        "Onderhandelen",
        "Harvard-onderhandelen voor samenwerking met gemeenten en partners.",
        "Onderhandelingsinstituut",
        True,
        12,
    ),
)


@dataclass
class DemoPerson:
    subject: str
    name: str
    email: str
    groups: list[str]
    department: str | None = None
    manager_subject: str | None = None
    roles: list[str] = field(default_factory=list)
    #: Their part in the demo: "admin", "trainer", "manager", "coach" or "employee".
    part: str = "employee"

    def as_json(self) -> dict:
        return {
            "sub": self.subject,
            "name": self.name,
            "email": self.email,
            "roles": self.roles,
            "groups": self.groups,
        }


def _ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", ".", plain.lower()).strip(".")


#: The roles the demo gives through the tenant's IdP groups, as a real login would.
DEMO_ROLES = ("programme_admin", "trainer", "manager", "coach")


def seed_refusal(tenant: Tenant) -> str | None:
    """Why the demo cannot be seeded into `tenant` (one line), or None. The demo gives its people
    their roles through the tenant's own IdP groups and links learning goals to its organisation
    goals; a tenant without them gets this line instead of a half-seeded programme."""
    from samenleren.tenants.models import OrganisationGoal

    missing = [role for role in DEMO_ROLES if not _groups_for(tenant, role)]
    with tenant_scope(tenant):
        goals = db.session.scalar(
            select(OrganisationGoal.id).where(OrganisationGoal.active.is_(True)).limit(1)
        )
    problems = []
    if missing:
        problems.append(
            "no IdP group gives the role(s) " + ", ".join(missing) + " ([roles.groups] in the "
            "manifest, or the SSO settings page)"
        )
    if goals is None:
        problems.append(
            "no organisation goals ([[organisation_goals]] in the manifest, or the "
            "organisation goals page)"
        )
    if not problems:
        return None
    return f"{tenant.slug}: cannot seed the demo: " + "; ".join(problems)


def _groups_for(tenant: Tenant, role: str) -> list[str]:
    """The IdP groups that give `role` in this tenant's mapping (the first one suffices)."""
    return [group for group, roles in tenant.group_roles.items() if role in roles][:1]


def demo_people(tenant: Tenant) -> list[DemoPerson]:
    """The tenant's demo staff, deterministic for its slug."""
    fake = Faker("nl_NL")
    fake.seed_instance(zlib.crc32(tenant.slug.encode()))
    rng = random.Random(tenant.slug)  # noqa: S311 - demo data, not security
    domain = f"{tenant.slug}.example.nl"
    used: set[str] = set()

    def person(groups: list[str], department: str | None) -> DemoPerson:
        while True:
            name = f"{fake.first_name()} {fake.last_name()}"
            subject = _ascii_slug(name)
            if subject not in used:
                used.add(subject)
                return DemoPerson(subject, name, f"{subject}@{domain}", groups, department)

    people: list[DemoPerson] = []
    admin = person(_groups_for(tenant, "programme_admin"), "Personeel en Organisatie")
    admin.part = "admin"
    people.append(admin)
    trainer = person(_groups_for(tenant, "trainer"), None)
    trainer.part = "trainer"
    trainer.email = f"{trainer.subject}@trainingsbureau.example.nl"
    people.append(trainer)
    staff: list[DemoPerson] = []
    for department in DEPARTMENTS:
        manager = person(_groups_for(tenant, "manager"), department)
        manager.part = "manager"
        people.append(manager)
        for _ in range(EMPLOYEES_PER_DEPARTMENT):
            employee = person([], department)
            employee.manager_subject = manager.subject
            staff.append(employee)
    for coach in rng.sample(staff, COACHES):
        coach.groups = coach.groups + _groups_for(tenant, "coach")
        coach.part = "coach"
    admin.manager_subject = next(
        p.subject for p in people if p.department == admin.department and p is not admin
    )
    people.extend(staff)
    for p in people:
        p.roles = sorted(role.value for role in roles_for_groups(tenant, p.groups))
    return people


def seed_tenant(tenant: Tenant) -> list[DemoPerson]:
    """Fill `tenant` with demo departments, people, trainings and the programme running on them
    (coach pool, coach days, editions, trajectories at every step); adds only what is missing.

    Texts the services write themselves (e.g. why a step was skipped) are in the tenant's language.
    """
    people = demo_people(tenant)
    with tenant_scope(tenant), force_locale(tenant.default_locale):
        departments = {d.name: d for d in db.session.scalars(select(Department))}
        for name in DEPARTMENTS:
            if name not in departments:
                departments[name] = Department(name=name)
                db.session.add(departments[name])
        users = {u.subject: u for u in db.session.scalars(select(User))}
        for p in people:
            user = users.get(p.subject)
            if user is None:
                user = User(subject=p.subject, name=p.name, email=p.email)
                db.session.add(user)
                users[p.subject] = user
            user.department = departments.get(p.department) if p.department else None
            sync_idp_roles(user, roles_for_groups(tenant, p.groups))
        db.session.flush()
        for p in people:
            if p.manager_subject:
                users[p.subject].manager = users[p.manager_subject]
        titles = set(db.session.scalars(select(Training.title)))
        for title, description, provider, open_to_all, capacity in TRAININGS:
            if title not in titles:
                db.session.add(
                    Training(
                        title=title,
                        description=description,
                        provider=provider,
                        open_to_all=open_to_all,
                        capacity=capacity,
                    )
                )
        db.session.flush()
        built = seed_programme(tenant, {p.subject: (p.part, users[p.subject]) for p in people})
        db.session.commit()
        if built:
            # Decided once, here: the tenant's programme was new, so the parts that work on it
            # are seeded now. A tenant seeded before keeps what it has, and a second seed does
            # not pay for each part's own "done already?" query. (Each part is idempotent on its
            # own too, for callers that run it directly.)
            _seed_parts()
    return people


def _seed_parts() -> None:
    """What the issues after the programme added to the demo, on a freshly seeded programme;
    through the services, in order (the outbox last: it mails about everything before it)."""
    from samenleren.budget.demo import seed_budget
    from samenleren.exports.demo import seed_exports
    from samenleren.notifications.demo import seed_notifications
    from samenleren.process_templates.editor.demo import seed_draft
    from samenleren.process_templates.library.demo import seed_library
    from samenleren.process_templates.versions.demo import seed_imported_template

    seed_budget()  # editions' costs and the invoices of what has happened (issue 13)
    db.session.commit()
    seed_exports()  # a ready export for the programme admin (issue 6)
    seed_library()  # one tenant's variant of the model shared in the library (issue 5)
    seed_draft()  # a draft of the default template in the editor (issue 5)
    seed_imported_template()  # a template imported from files, to compare (issue 5)
    seed_notifications()  # reminders and manager digests in the outbox (issue 6)


@dataclass
class Showcased:
    """Someone to log in as in the demo, and why."""

    person: DemoPerson
    note: str = ""

    def as_json(self) -> dict:
        return {"sub": self.person.subject, "name": self.person.name, "note": self.note}


SHOWCASE_ROLES = ("learner", "coach", "manager", "trainer", "programme_admin")


def showcase(tenant: Tenant, people: list[DemoPerson]) -> dict[str, Showcased]:
    """One person per role to show in `make run`: a learner in the middle of a trajectory, their
    coach and their manager (so each sees that trajectory), the trainer and the programme admin.
    Roles without such a story get the first person holding the role."""
    by_subject = {p.subject: p for p in people}
    chosen: dict[str, Showcased] = {}
    with tenant_scope(tenant):
        story = mid_trajectory()
    if story is not None and {story.learner, story.coach} <= set(by_subject):
        learner = by_subject[story.learner]
        what = f"{story.training}, {story.edition}"
        chosen["learner"] = Showcased(learner, f"mid-trajectory: {what}")
        chosen["coach"] = Showcased(by_subject[story.coach], f"coach of {learner.name}")
        if story.manager in by_subject:
            chosen["manager"] = Showcased(by_subject[story.manager], f"manager of {learner.name}")
    for role in SHOWCASE_ROLES:
        if role in chosen:
            continue
        taken = {entry.person.subject for entry in chosen.values()}
        for p in people:
            only_role = role == "learner" and p.roles == ["learner"]
            if (only_role or (role != "learner" and role in p.roles)) and p.subject not in taken:
                chosen[role] = Showcased(p)
                break
    return {role: chosen[role] for role in SHOWCASE_ROLES if role in chosen}
