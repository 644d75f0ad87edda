"""Words for the keys of a personal data package, for its readable page (index.html)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SECTIONS = {
    "person": _l("Profile"),
    "roles": _l("Roles"),
    "enrolments": _l("Applications and enrolments"),
    "trajectories": _l("Your trajectories"),
    "written_in_other_trajectories": _l("What you recorded in trajectories of others"),
    "coaching": _l("As learning coach"),
    "training_sessions": _l("Training sessions"),
    "mails": _l("Mails sent to you"),
    "calendar_feeds": _l("Calendar links"),
    "logins": _l("Logins"),
    "audit": _l("Audit log entries by you or about you"),
}

KEYS = {
    "name": _l("Name"),
    "email": _l("E-mail address"),
    "employee_number": _l("Employee number"),
    "department": _l("Department"),
    "manager": _l("Manager"),
    "language": _l("Language"),
    "training": _l("Training"),
    "edition": _l("Edition"),
    "status": _l("Status"),
    "state": _l("State"),
    "coach": _l("Learning coach"),
    "learner": _l("Learner"),
    "step": _l("Step"),
    "due_on": _l("Due on"),
    "answers": _l("Answers"),
    "value": _l("Value"),
    "label": _l("Question"),
    "learning_goals": _l("Learning goals"),
    "expected_results": _l("Expected results"),
    "ratings": _l("Ratings"),
    "steps": _l("Steps"),
    "appointment": _l("Appointment"),
    "starts_at": _l("Starts at"),
    "location": _l("Place"),
    "role": _l("Role"),
    "action": _l("Action"),
    "occurred_at": _l("When"),
    "kind": _l("Kind"),
    "sent_at": _l("Sent at"),
    "content": _l("Content"),
}


def key_label(key: object) -> str:
    word = KEYS.get(str(key))
    return str(word) if word is not None else str(key).replace("_", " ")


def section_label(key: str) -> str:
    word = SECTIONS.get(key)
    return str(word) if word is not None else key.replace("_", " ")
