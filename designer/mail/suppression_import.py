"""Importing addresses into the suppression list from a CSV file.

Columns are ``email[,reason[,note]]``; a first line naming the columns (``email``,
``reason``, ``note``, in any order, other columns ignored, as in the export) is optional.
Commas or semicolons separate cells (spreadsheets in many languages write semicolons). The
``'`` an export puts before a cell that looks like a formula is taken off again.

The file is read whole before anything is written, within bounds (``MAX_BYTES``,
``MAX_ROWS``). A problem with the file as a whole (too large, UTF-16, a spreadsheet
workbook, a broken quote) imports nothing and says so. A problem with one line (bytes that
are not UTF-8 text, control characters, not an address, an unknown reason) refuses that
line, named by its number; the good lines are added in one commit, and the summary says
how many were added, already suppressed and refused.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from designer.csvexport import FORMULA_STARTS
from designer.i18n import _l
from designer.i18n import number as grouped
from designer.mail.address_check import address_problem
from designer.mail.suppression_list import (
    MAX_NOTE,
    REASONS,
    ListChangeRefused,
    add_many,
    checked_reason,
)

#: Largest file accepted.
MAX_BYTES = 5 * 1024 * 1024
#: Most lines with an address a file may hold.
MAX_ROWS = 100_000
#: Names a first line may give the address column.
EMAIL_HEADERS = ("email", "e-mail", "email address", "e-mail address")
#: Columns of a file without a first line naming them.
POSITIONAL = {"email": 0, "reason": 1, "note": 2}
#: Bytes that were not UTF-8 (kept by ``surrogateescape``), and control characters.
NOT_UTF8 = re.compile("[\udc80-\udcff]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: What a workbook or UTF-16 file starts with, and what to do instead.
NOT_CSV = (
    (b"PK\x03\x04", _l("This is a spreadsheet workbook (.xlsx), not a CSV file")),
    (b"\xd0\xcf\x11\xe0", _l("This is an old Excel workbook (.xls), not a CSV file")),
    (codecs.BOM_UTF16_LE, _l("This file is UTF-16 text")),
    (codecs.BOM_UTF16_BE, _l("This file is UTF-16 text")),
)


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; nothing was."""


@dataclass
class ImportResult:
    """The summary of one import: counts, and ``(line, why)`` for every refused line."""

    added: int = 0
    already: int = 0
    refused: list = field(default_factory=list)


def read_upload(stream):
    """The uploaded file's bytes, refused past ``MAX_BYTES`` without reading on."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportRefused(
            _("The file is larger than %(size)s MB: split it.", size=MAX_BYTES // 2**20)
        )
    return data


def import_csv(data, default_reason, user):
    """Add the file's good lines to the list, by ``user``; returns an ``ImportResult``."""
    try:
        default_reason = checked_reason(default_reason)
    except ListChangeRefused as exc:
        raise ImportRefused(str(exc)) from None
    entries, refused, repeats = read_lines(data, default_reason)
    if not entries and not refused:
        raise ImportRefused(_("The file holds no addresses."))
    done = add_many(entries, user, action="imported") if entries else None
    added, already = (len(done.added), len(done.already)) if done else (0, 0)
    return ImportResult(added=added, already=already + repeats, refused=refused)


def read_lines(data, default_reason):
    """``({address: (reason, note)}, [(line, why)], repeated addresses)`` of the file."""
    position, lines = _records(_text(data))
    entries, refused, repeats, columns = {}, [], 0, None
    try:
        for number, record in lines:
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = _header(record)
                if columns is not None:
                    continue
                columns = POSITIONAL
            if len(entries) + len(refused) + repeats >= MAX_ROWS:
                raise ImportRefused(
                    _("The file has more than %(max)s lines: split it.", max=grouped(MAX_ROWS))
                )
            why, found = _entry(record, columns, default_reason)
            if why:
                refused.append((number, why))
            elif found[0] in entries:
                repeats += 1
            else:
                entries[found[0]] = found[1:]
    except csv.Error as exc:
        line = position["start"]
        raise ImportRefused(
            _("Line %(line)s: %(why)s (a quote never closed?).", line=line, why=exc)
        ) from None
    return entries, refused, repeats


def _text(data):
    for start, what in NOT_CSV:
        if data.startswith(start):
            raise ImportRefused(_("%(what)s: save it as “CSV UTF-8” and import that.", what=what))
    return data.removeprefix(codecs.BOM_UTF8).decode("utf-8", "surrogateescape")


def _records(text):
    """``(first line number, cells)`` of each record, and where the one being read starts."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    position = {"start": 1}  # where the record being read starts, for error messages

    def numbered():
        for record in reader:
            yield position["start"], record
            position["start"] = reader.line_num + 1

    return position, numbered()


def _header(record):
    """``{column name: index}`` when ``record`` names the columns, else None."""
    names = [cell.strip().lower() for cell in record]
    if not any(name in EMAIL_HEADERS for name in names):
        return None
    columns = {}
    for index, name in enumerate(names):
        key = "email" if name in EMAIL_HEADERS else name
        if key in ("email", "reason", "note"):
            columns.setdefault(key, index)
    return columns


def _entry(record, columns, default_reason):
    """``(why refused, None)`` or ``(None, (address, reason, note))`` of one record."""
    why = _odd_text(record)
    if why:
        return why, None
    if columns is POSITIONAL and len(record) > len(POSITIONAL):
        return _("%(count)s columns; expected email, reason, note", count=len(record)), None
    address, reason, note = (_cell(record, columns.get(name)) for name in POSITIONAL)
    address = address.lower()
    why = address_problem(address)
    if why:
        return f"{address[:80]!r}: {why}" if address else _("no address"), None
    reason = reason or default_reason
    if reason not in REASONS:
        known = ", ".join(REASONS)
        return _(
            "unknown reason %(reason)r; use one of %(known)s", reason=reason[:40], known=known
        ), None
    if len(note) > MAX_NOTE:
        return _("the note is longer than %(max)s characters", max=MAX_NOTE), None
    return None, (address, reason, " ".join(note.split()))


def _cell(record, index):
    """A cell's text, without the ``'`` an export put before a formula-like start."""
    text = record[index].strip() if index is not None and index < len(record) else ""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def _odd_text(record):
    """Why a record's cells are not plain text, or None."""
    for cell in record:
        if NOT_UTF8.search(cell):
            return _("bytes that are not UTF-8 text: save the file as “CSV UTF-8”")
        if CONTROL.search(cell):
            return _("control characters (such as a NUL byte) in the line")
    return None
