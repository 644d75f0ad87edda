"""The one view lifecycle (samenleren.core.web): form_action owns the transaction, role_required
answers 404 to anyone without the role, see_other answers 303."""

from __future__ import annotations

import pytest
from flask import Flask, get_flashed_messages
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound

from tests.conftest import make_user


def _organisation_goals(app: Flask, tenant_id) -> int:
    from samenleren.core.extensions import db
    from samenleren.core.tenancy import tenant_scope
    from samenleren.core.tenant import Tenant
    from samenleren.tenants.models import OrganisationGoal

    with app.app_context():
        with tenant_scope(db.session.get(Tenant, tenant_id)):
            return db.session.scalar(select(func.count()).select_from(OrganisationGoal))


def _add_goal(code: str):
    from samenleren.core.extensions import db
    from samenleren.tenants.models import OrganisationGoal

    goal = OrganisationGoal(code=code, title={"nl": code})
    db.session.add(goal)
    db.session.flush()
    return goal


def test_a_refused_action_is_rolled_back_and_the_form_answers_422(app, tenants):
    from samenleren.core.errors_input import InvalidInput
    from samenleren.core.web import form_action, see_other

    flevoland = tenants["flevoland"]
    before = _organisation_goals(app, flevoland.id)

    def refuse():
        _add_goal("HALF")  # written and flushed, then refused: must not survive
        raise InvalidInput({"title": "Give a title."})

    # (A GET context: the helper does not look at the method, and CSRF is not the subject here.)
    with app.test_request_context(f"/{flevoland.slug}/organisation-goals/new"):
        app.preprocess_request()
        answer = form_action(
            refuse,
            invalid=lambda errors: f"form with {errors['title']}",
            done=see_other("tenants.list_organisation_goals"),
            message="saved",
        )
        assert answer == ("form with Give a title.", 422)
        assert get_flashed_messages() == []
    assert _organisation_goals(app, flevoland.id) == before


def test_an_accepted_action_is_committed_flashed_and_answered_303(app, tenants):
    from samenleren.core.web import form_action, see_other

    flevoland = tenants["flevoland"]
    before = _organisation_goals(app, flevoland.id)
    with app.test_request_context(f"/{flevoland.slug}/organisation-goals/new"):
        app.preprocess_request()
        answer = form_action(
            lambda: _add_goal("NEW"),
            invalid=lambda errors: "form",
            done=lambda goal: see_other("tenants.list_organisation_goals", added=goal.code),
            message=lambda goal: f"{goal.code} saved",
        )
        assert answer.status_code == 303
        assert answer.location.endswith(f"/{flevoland.slug}/organisation-goals/?added=NEW")
        assert get_flashed_messages() == ["NEW saved"]
    assert _organisation_goals(app, flevoland.id) == before + 1


def test_role_required_answers_404_to_others_and_sends_visitors_to_the_login(app, tenants):
    from flask_login import login_user

    from samenleren.core.extensions import db
    from samenleren.core.web import role_required
    from samenleren.identity.models import Role, User

    flevoland = tenants["flevoland"]
    with app.app_context():
        learner_id = make_user(flevoland, "leerling", "learner")
        admin_id = make_user(flevoland, "beheerder", "programme_admin")

    @role_required(Role.PROGRAMME_ADMIN)
    def admin_page():
        return "admin page"

    path = f"/{flevoland.slug}/organisation-goals/"
    with app.test_request_context(path):
        app.preprocess_request()
        answer = admin_page()
        assert answer.status_code == 302 and "/login" in answer.location
    for user_id, allowed in ((learner_id, False), (admin_id, True)):
        with app.test_request_context(path):
            app.preprocess_request()
            login_user(db.session.scalar(select(User).where(User.id == user_id)))
            if allowed:
                assert admin_page() == "admin page"
            else:
                with pytest.raises(NotFound):
                    admin_page()
