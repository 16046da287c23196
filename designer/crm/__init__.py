"""The CRM connection: Designer wired to a vtiger CRM through vtiger's webservice.

``client`` speaks the webservice; the other modules of this part read
vtiger's records into ours (in) and write the counts of opens and sends back
to vtiger (out). This part sits on top of the others: it may use records,
workflows, mail and tracking; none of them imports it.
"""

#: Seconds a scheduled sync pass reads before it hands over to the next one (a minute later),
#: so that a large first import never holds the periodic queue for long.
PASS_SECONDS = 45


def sync_in_background():
    """The scheduler's sync pass: a summary dict; no connection or a running pass is no error."""
    import logging

    from designer.crm import connection, inbound
    from designer.crm.client import VtigerError

    if connection.get_connection() is None:
        return {"connected": False}
    try:
        results = inbound.run_pass(budget=PASS_SECONDS)
    except inbound.SyncBusy:
        return {"busy": True}
    except (VtigerError, connection.NotConnected) as exc:  # shown on the connection page
        logging.getLogger(__name__).warning("vtiger not read: %s", exc)
        return {"error": str(exc)}
    return {module: counts.line(module) for module, counts in results.items()}
