"""The instance folder is private: only the account that runs the product reads it.

It holds the SQLite database, the embedded Redis' data (append-only file,
socket, log), the secret key and whatever else the product writes there,
all of it personal data or keys. Processes the ``designer`` command and the
WSGI entry point start run with a ``077`` umask, so new files are created
``0600`` and new folders ``0700`` (children such as Redis and gunicorn inherit
it); ``make_private`` tightens what an earlier version or another tool
(``make run``'s marker file) left readable to others.
"""

import logging
import os
import stat
from pathlib import Path

#: New files 0600, new folders 0700.
PRIVATE_UMASK = 0o077
log = logging.getLogger(__name__)


def use_private_umask():
    """Everything this process and its children create is for this account only."""
    os.umask(PRIVATE_UMASK)


def make_private(folder):
    """Take group and other permissions from ``folder`` and everything in it (links aside)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    _tighten(folder)
    for root, folders, files in os.walk(folder):
        for name in (*folders, *files):
            _tighten(Path(root, name))


def _tighten(path):
    """The owner's permissions only (folders keep ``rwx`` for the owner)."""
    try:
        current = path.lstat().st_mode
        if stat.S_ISLNK(current) or not current & 0o077:
            return
        path.chmod(stat.S_IMODE(current) & 0o700 | (0o700 if stat.S_ISDIR(current) else 0))
    except OSError as exc:  # another account's file: say so and carry on
        log.warning("cannot make %s private: %s", path, exc)
