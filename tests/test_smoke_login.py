from tests.conftest import login


def test_learner_logs_in_through_the_tenant_idp(app, tenants):
    client = app.test_client()
    answer = login(client, tenants["flevoland"], "anna.de.vries", name="Anna de Vries")
    assert answer.status_code == 302
    home = client.get("/flevoland/")
    assert "Anna de Vries" in home.get_data(as_text=True)
