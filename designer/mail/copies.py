"""More recipients of one message: more To addresses, Cc and Bcc, checked and bounded.

People type them separated by commas, semicolons or line breaks; each must be
one e-mail address (``designer.mail.address_check``), at most ``MAX_COPIES``
of each kind. A Cc address is in the message's headers; a Bcc address only in
the SMTP envelope (``designer.mail.delivery``).
"""

import re

from designer.mail.address_check import address_problem

#: At most this many addresses in each of To (besides the record's), Cc and Bcc.
MAX_COPIES = 20
#: What separates typed addresses.
SEPARATORS = re.compile(r"[,;\s]+")
#: Longest text accepted in one address field before it is split.
MAX_FIELD = MAX_COPIES * 330


class AddressesInvalid(ValueError):
    """An address field holds something that is not a list of addresses (says what)."""


def parse_addresses(text, what="Cc"):
    """The addresses typed in one field, each once, in order; ``AddressesInvalid`` names
    the first bad one. ``what`` names the field in the message."""
    text = text or ""
    if len(text) > MAX_FIELD:
        raise AddressesInvalid(f"{what}: too long; at most {MAX_COPIES} addresses")
    return checked_addresses(SEPARATORS.split(text.strip()) if text.strip() else [], what)


def checked_addresses(addresses, what="Cc"):
    """``addresses`` (a list) checked: each one valid, at most ``MAX_COPIES``, each once."""
    unique = list(dict.fromkeys(a for a in (addresses or ()) if a))
    if len(unique) > MAX_COPIES:
        raise AddressesInvalid(f"{what}: {len(unique)} addresses; at most {MAX_COPIES}")
    for address in unique:
        problem = address_problem(address) if isinstance(address, str) else "not text"
        if problem:
            raise AddressesInvalid(f"{what}: “{str(address)[:80]}” is {_as_reason(problem)}")
    return unique


def _as_reason(problem):
    return problem if problem.startswith("not ") else f"not valid: {problem}"
