"""Dashboards per role: what each learner, coach, manager, trainer and admin sees first."""
