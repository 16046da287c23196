"""Whether a line of text people typed or imported is one e-mail address, and if not, why.

The check is what a mail server would accept for a recipient we suppress: one ``@``, a
local part of at most 64 characters without spaces or quoting, and a domain of labels
(letters, digits, hyphens; international letters too) with a dot. It answers in words,
for people fixing a list.
"""

#: Longest address (RFC 5321: a 64-character local part, a 255-character domain).
MAX_ADDRESS = 320
MAX_LOCAL = 64
MAX_DOMAIN = 255
#: Characters a bare local part may hold besides letters and digits (RFC 5322 atext, dots).
LOCAL_EXTRA = set("!#$%&'*+-/=?^_`{|}~.")


def address_problem(text):
    """None when ``text`` is one e-mail address, else why not (a short sentence)."""
    if not text:
        return "empty"
    if len(text) > MAX_ADDRESS:
        return f"longer than {MAX_ADDRESS} characters"
    if any(char.isspace() for char in text):
        return "contains a space; put one address on each line"
    if text.count("@") != 1:
        return "not an e-mail address (it needs exactly one @)"
    local, domain = text.split("@")
    return _local_problem(local) or _domain_problem(domain)


def _local_problem(local):
    if not local or len(local) > MAX_LOCAL:
        return f"the part before @ must have 1 to {MAX_LOCAL} characters"
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return "the part before @ has a misplaced dot"
    odd = [char for char in local if not (char.isalnum() or char in LOCAL_EXTRA)]
    return f"the part before @ contains {odd[0]!r}" if odd else None


def _domain_problem(domain):
    if not domain or len(domain) > MAX_DOMAIN:
        return "the part after @ is not a domain"
    labels = domain.split(".")
    if len(labels) < 2:
        return "the domain has no dot (such as example.com)"
    for label in labels:
        if not label or len(label) > 63 or label.startswith("-") or label.endswith("-"):
            return f"the domain {domain!r} is not valid"
        if not all(char.isalnum() or char == "-" for char in label):
            return f"the domain {domain!r} contains characters a domain cannot have"
    if labels[-1].isdigit():
        return f"the domain {domain!r} is not valid"
    return None
