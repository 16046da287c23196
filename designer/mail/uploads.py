"""Uploaded attachments: files a user adds to one message on the compose page.

A file is stored as soon as it is uploaded (``store``), unlinked, so a form
shown again after a mistake keeps it; confirming the message links the
chosen files to it (``link``), and delivery sends them as MIME attachments
(``files_of``). Sizes are bounded: ``MAX_FILE_BYTES`` each,
``MAX_TOTAL_BYTES`` and ``MAX_FILES`` per message; files never sent are
dropped after ``KEEP_UNSENT``.
"""

import mimetypes
from datetime import timedelta

from sqlalchemy import delete
from werkzeug.utils import secure_filename

from designer.clock import utcnow
from designer.extensions import db
from designer.mail.models import MessageFile

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 25 * 1024 * 1024
MAX_FILES = 10
#: How long a file uploaded for a message not sent is kept.
KEEP_UNSENT = timedelta(days=2)


class UploadInvalid(ValueError):
    """A file cannot go along with the message (says why)."""


def _megabytes(size):
    return f"{size / (1024 * 1024):.1f} MB"


def store(upload, user, already=()):
    """Keep one uploaded file (a werkzeug ``FileStorage``) for ``user``; ``already`` are the
    files chosen before (their sizes count towards the total). Raises ``UploadInvalid``."""
    name = (upload.filename or "").strip()
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UploadInvalid(f"“{name}” is larger than {_megabytes(MAX_FILE_BYTES)}")
    if not data:
        raise UploadInvalid(f"“{name}” is empty")
    if len(already) >= MAX_FILES:
        raise UploadInvalid(f"at most {MAX_FILES} files go along with one e-mail")
    total = sum(f.size for f in already) + len(data)
    if total > MAX_TOTAL_BYTES:
        raise UploadInvalid(
            f"“{name}” would make the attachments {_megabytes(total)}; "
            f"at most {_megabytes(MAX_TOTAL_BYTES)} go with one e-mail"
        )
    filename = _display_name(name)
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    row = MessageFile(
        uploaded_by_id=user.id,
        filename=filename,
        content_type=content_type,
        size=len(data),
        data=data,
    )
    db.session.add(row)
    _forget_abandoned()
    db.session.commit()
    return row


def _forget_abandoned():
    """Drop files nobody sent within ``KEEP_UNSENT`` (a compose page left open or closed)."""
    db.session.execute(
        delete(MessageFile).where(
            MessageFile.message_id.is_(None), MessageFile.created_at < utcnow() - KEEP_UNSENT
        ),
        execution_options={"synchronize_session": False},
    )


def _display_name(name):
    """The file name as the recipient sees it: no path, no controls, at most 200 characters."""
    base = name.replace("\\", "/").rpartition("/")[2]
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    return (cleaned or secure_filename(name) or "attachment")[:200]


def pending(ids, user):
    """The unlinked files among ``ids`` that ``user`` uploaded, in that order (others are
    left out: a file of someone else, or of a message already sent, is never reused)."""
    wanted = [i for i in ids if isinstance(i, int) and 0 < i < 2**31]
    if not wanted:
        return []
    found = {
        f.id: f
        for f in db.session.scalars(
            db.select(MessageFile).where(
                MessageFile.id.in_(wanted),
                MessageFile.uploaded_by_id == user.id,
                MessageFile.message_id.is_(None),
            )
        )
    }
    return [found[i] for i in dict.fromkeys(wanted) if i in found]


def link(files, message):
    """Let ``files`` go along with ``message`` (its row written, not yet committed)."""
    for row in files:
        row.message_id = message.id


def files_of(message):
    """``(file name, type, bytes)`` of the files uploaded for ``message``, in order."""
    if message.id is None:
        return ()
    rows = db.session.scalars(
        db.select(MessageFile).where(MessageFile.message_id == message.id).order_by(MessageFile.id)
    )
    return tuple((row.filename, row.content_type, row.data) for row in rows)


def messages_with_files(message_ids):
    """Which of ``message_ids`` have uploaded files (one query for a batch)."""
    if not message_ids:
        return set()
    query = db.select(MessageFile.message_id).where(MessageFile.message_id.in_(message_ids))
    return set(db.session.scalars(query.distinct()))
