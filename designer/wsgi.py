"""WSGI entry point for production servers: ``gunicorn designer.wsgi:app``."""

from designer import create_app

app = create_app()
