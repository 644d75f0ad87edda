"""WSGI entry point for gunicorn: `gunicorn samenleren.wsgi:app`."""

from samenleren import create_app
from samenleren.app.serving import ready_to_serve

app = ready_to_serve(create_app())
