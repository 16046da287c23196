"""Fixtures of the account tests: users by address, another browser, the CLI with typed input."""

import subprocess
import sys

import pytest
from account_steps import try_login
from support import child_env

from designer.extensions import db
from designer.records import User


@pytest.fixture
def user_named(app, demo):
    """The user with that e-mail address, read afresh."""

    def find(email):
        db.session.expire_all()
        return db.session.scalar(db.select(User).where(User.email == email))

    return find


@pytest.fixture
def browser(app, demo):
    """Another browser: a new client logged in as that user."""

    def open_as(email="admin@example.com", password="demo"):
        client = app.test_client()
        response = try_login(client, email, password)
        assert response.status_code == 302, response.text
        return client

    return open_as


@pytest.fixture
def designer_cli(app):
    """Run the real ``designer`` command; ``input`` is its standard input (no terminal)."""

    def run(*args, input=None):
        db.session.commit()
        result = subprocess.run(
            [sys.executable, "-m", "designer", *args],
            input=input,
            env=child_env(app),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            start_new_session=True,
        )
        db.session.expire_all()
        return result

    return run
