"""The CRM's opt-out on records posted to the hooks (``POST /hooks/events``) and the API
(``PUT /api/v1/records/…``).

``email_opt_out`` on a contact or an organisation is not a record field: true puts
the record's address on the suppression list (reason ``crm_opt_out``), false
lifts a suppression only the opt-out made (``designer.mail.consent``, the same
function the vtiger sync uses). Left out, nothing changes. It is read before the
record is written, so a bad value stores nothing, and applied in the same
transaction as the record.
"""

from designer.mail import consent
from designer.records.upsert import InvalidRecord

FIELD = "email_opt_out"
#: Records whose address the opt-out is about.
MODULES = ("contact", "organisation")


def read_opt_out(module, data):
    """The record's ``email_opt_out`` (True/False), None when not given or not a record
    with an address of its own; ``InvalidRecord`` for a value that means neither."""
    if module not in MODULES or not isinstance(data, dict) or FIELD not in data:
        return None
    try:
        return consent.opt_out_flag(data[FIELD])
    except ValueError as exc:
        raise InvalidRecord(FIELD, str(exc)) from None


def apply_opt_out(record, opted_out):
    """Bring the suppression of ``record``'s address in line with ``opted_out``."""
    if opted_out is not None and record.email:
        consent.apply_crm_opt_outs({record.email: opted_out})
