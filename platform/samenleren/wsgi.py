"""WSGI entry point for gunicorn: `gunicorn samenleren.wsgi:app`."""

from samenleren import create_app

app = create_app()
