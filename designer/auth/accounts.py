"""User accounts: create and invite, change roles, disable and enable, send reset links.

A disabled user cannot log in, their sessions end and their API tokens stop
working; their templates, messages and history stay. There is always an
active administrator: the last one (not disabled, with a password) can be
neither disabled nor made a marketer. Password changes are
``designer.auth.password_changes``'.
"""

import re

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from designer.auth import link_mail
from designer.auth.passwords import PasswordRefused, check_new_password
from designer.clock import utcnow
from designer.extensions import db
from designer.records.models import ROLES, User

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NAME_LENGTH = 200
EMAIL_LENGTH = 320


class AccountError(ValueError):
    """An account change that was refused (the message says why)."""


def normalise_email(email):
    return (email or "").strip().lower()


def find_user(email):
    """The user with that e-mail address (any case), else None."""
    email = normalise_email(email)
    return db.session.scalar(db.select(User).where(db.func.lower(User.email) == email))


def get_user(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user with id {user_id}")
    return user


def list_users():
    """Everyone who has an account, by name."""
    return db.session.scalars(db.select(User).order_by(User.name, User.id)).all()


def administrator_names():
    """The names of the administrators who can log in: whom a refused user can ask."""
    query = (
        db.select(User.name)
        .where(User.role == "admin", User.disabled_at.is_(None))
        .order_by(User.name, User.id)
    )
    return db.session.scalars(query).all()


def demo_password_users():
    """Accounts that still have the demo data's password."""
    query = db.select(User).where(User.demo_password.is_(True)).order_by(User.id)
    return db.session.scalars(query).all()


def _new_user(email, name, role):
    email, name = normalise_email(email), " ".join((name or "").split())
    if not EMAIL.fullmatch(email) or len(email) > EMAIL_LENGTH:
        raise AccountError(
            _("%(email)s is not an e-mail address", email=email)
            if email
            else _("the e-mail address is not an e-mail address")
        )
    if not name or len(name) > NAME_LENGTH:
        raise AccountError(_("give a name of 1 to %(max)s characters", max=NAME_LENGTH))
    if role not in ROLES:
        raise AccountError(_("the role is one of %(roles)s", roles=", ".join(ROLES)))
    if find_user(email) is not None:
        raise AccountError(_("there is already an account for %(email)s", email=email))
    user = User(email=email, name=name, role=role, password_hash="")
    db.session.add(user)
    return user


def _commit_new(user):
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AccountError(
            _("there is already an account for %(email)s", email=user.email)
        ) from None


def invite(email, name, role, invited_by=None):
    """Create an account without a password and mail its owner a link to choose one."""
    try:
        prepared = link_mail.prepare("invite", invited_by)
    except link_mail.MailUnsendable as exc:
        raise AccountError(_("the invitation cannot be sent: %(reason)s", reason=exc)) from None
    user = _new_user(email, name, role)
    db.session.flush()
    link_mail.send_link(user, "invite", invited_by, prepared)
    return user


def add_with_password(email, name, role, password):
    """Create an account with a password its owner chose (the command line)."""
    user = _new_user(email, name, role)
    try:
        check_new_password(password, email=user.email, name=user.name)
    except PasswordRefused:
        db.session.rollback()
        raise
    user.set_password(password)
    _commit_new(user)
    return user


def add_with_link(email, name, role):
    """Create an account without a password; return it with a set-password link to hand
    over (the command line's ``--link``: nothing is mailed)."""
    from designer.auth.links import create_link, url_for_link

    user = _new_user(email, name, role)
    db.session.flush()
    link = create_link(user, "invite")
    _commit_new(user)
    return user, url_for_link(link)


def send_reset(user, requested_by=None):
    """Mail ``user`` a link to choose a new password (their current one keeps working)."""
    if not user.is_active:
        raise AccountError(_("%(email)s is disabled: enable the account first", email=user.email))
    purpose = "reset" if user.has_password else "invite"
    try:
        return link_mail.send_link(user, purpose, requested_by)
    except link_mail.MailUnsendable as exc:
        raise AccountError(_("the link cannot be sent: %(reason)s", reason=exc)) from None


def _active_admin_ids(excluding):
    """Ids of the other administrators who can log in (locked, so that two concurrent
    changes cannot each leave the other as the last one)."""
    query = (
        db.select(User.id)
        .where(
            User.role == "admin",
            User.disabled_at.is_(None),
            User.password_hash != "",
            User.id != excluding.id,
        )
        .with_for_update()
    )
    return db.session.scalars(query).all()


def _keep_an_admin(user, change):
    if user.role == "admin" and user.is_active and not _active_admin_ids(user):
        db.session.rollback()
        if change == "disable":
            message = _(
                "%(email)s is the last active administrator: make someone else an "
                "administrator before you disable them",
                email=user.email,
            )
        else:
            message = _(
                "%(email)s is the last active administrator: make someone else an "
                "administrator before you change their role",
                email=user.email,
            )
        raise AccountError(message)


def set_role(user, role):
    if role not in ROLES:
        raise AccountError(_("the role is one of %(roles)s", roles=", ".join(ROLES)))
    if role != "admin":
        _keep_an_admin(user, "role")
    user.role = role
    db.session.commit()
    return user


def disable(user, disabled_by=None):
    """Stop ``user`` from logging in and end their sessions; their tokens stop working."""
    if disabled_by is not None and disabled_by.id == user.id:
        raise AccountError(_("you cannot disable your own account"))
    _keep_an_admin(user, "disable")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        user.session_version += 1
    db.session.commit()
    return user


def enable(user):
    user.disabled_at = None
    db.session.commit()
    return user
