"""Settings → DKIM (administrators only): the signing key of each sending domain."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from designer.auth import protect
from designer.mail import dkim
from designer.mail.sender import resolve_sender

bp = Blueprint("dkim", __name__, url_prefix="/settings/dkim")
protect(bp, role="admin")


def _page(error=None, form=None, status=200):
    keys = [(key, *dkim.dns_record(key)) for key in dkim.list_keys()]
    sender_address = resolve_sender(current_user).address
    return render_template(
        "mail/dkim.html",
        keys=keys,
        error=error,
        form=form or {},
        sender_address=sender_address,
        warning=dkim.missing_key_warning(sender_address),
        default_selector=dkim.DEFAULT_SELECTOR,
    ), status


@bp.get("")
def index():
    return _page()


@bp.post("/generate")
def generate():
    form = {
        "domain": request.form.get("domain", ""),
        "selector": request.form.get("selector", "") or dkim.DEFAULT_SELECTOR,
        "key_type": request.form.get("key_type", "rsa"),
    }
    try:
        key = dkim.generate_key(form["domain"], form["selector"], key_type=form["key_type"])
    except ValueError as exc:
        return _page(error=str(exc), form=form, status=400)
    flash(
        _("DKIM key created for %(domain)s: publish its DNS record below.", domain=key.domain),
        "success",
    )
    return redirect(url_for("dkim.index"))


@bp.post("/import")
def import_():
    # The pasted private key is never echoed back into the page.
    form = {
        "import_domain": request.form.get("domain", ""),
        "import_selector": request.form.get("selector", ""),
    }
    try:
        key = dkim.import_key(
            form["import_domain"], form["import_selector"], request.form.get("private_key", "")
        )
    except ValueError as exc:
        return _page(error=str(exc), form=form, status=400)
    flash(
        _(
            "DKIM key saved for %(domain)s: check that its DNS record below is published.",
            domain=key.domain,
        ),
        "success",
    )
    return redirect(url_for("dkim.index"))


@bp.post("/<int:key_id>/delete")
def delete(key_id):
    key = dkim.get_key(key_id)
    if key is None:
        abort(404, description=f"no DKIM key with id {key_id}")
    domain = key.domain
    dkim.delete_key(key)
    flash(
        _(
            "DKIM key for %(domain)s deleted: mail from %(domain)s now goes out unsigned.",
            domain=domain,
        ),
        "success",
    )
    return redirect(url_for("dkim.index"))
