"""Fixtures of the templating tests: a logged-in client and its CSRF token, a merge."""

import pytest
from support import csrf_token, log_in

from designer.templating import limits
from designer.templating.sandbox import build_environment, compile_template, render


@pytest.fixture
def ada(client, people):
    """The test client, logged in as the admin of the ``people`` cast."""
    return log_in(client, "ada@example.com", "secret")


@pytest.fixture
def ada_csrf(ada):
    """Headers carrying ``ada``'s CSRF token, as the builder's JSON requests send it."""
    return {"X-CSRFToken": csrf_token(ada, "/templates")}


@pytest.fixture
def merge():
    """Compile a template in a fresh merge environment and merge keyword data into it."""

    def merge(source, **data):
        return render(compile_template(build_environment(), source), data)

    return merge


@pytest.fixture
def five_character_budget():
    """A merge's bounds opened with room for five characters, closed afterwards."""
    token = limits.start(allocation=5)
    yield
    limits.finish(token)
