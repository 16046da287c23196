"""Designer: campaign e-mail and PDF templates with merge fields for CRMs.

``create_app`` wires configuration, extensions, blueprints and CLI commands;
it does no I/O beyond reading settings (and creating the instance secret
once). Services (embedded Redis, SMTP catcher, worker, scheduler) are started
by ``designer serve``, never here.
"""

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config=None):
    """Build the Flask app; ``test_config`` overrides the environment."""
    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    from designer.config import load_config

    load_config(app, test_config)
    _init_extensions(app)
    _register_blueprints(app)
    from designer import cli, errors, i18n, navigation, proxies, security
    from designer.tracking import fastpath
    from designer.workflows import hook_fastpath

    i18n.init_app(app)
    errors.init_app(app)
    navigation.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    fastpath.init_app(app)
    hook_fastpath.init_app(app, security.plain_headers(app))
    proxies.init_app(app)  # outermost: the pixel fast path sees the client's address too
    return app


def _init_extensions(app):
    from designer import broker, request_limits
    from designer.auth import csrf as csrf_check
    from designer.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    csrf.init_app(app)
    request_limits.init_app(app)  # before the CSRF check reads any body
    csrf_check.init_app(app)
    broker.init_app(app)


def _register_blueprints(app):
    from designer import health
    from designer.assets.file_views import bp as files_bp
    from designer.assets.views import bp as assets_bp
    from designer.auth.account_views import bp as account_bp
    from designer.auth.token_views import bp as tokens_bp
    from designer.auth.user_views import bp as users_bp
    from designer.auth.views import bp as auth_bp
    from designer.campaigns.list_send_views import bp as list_send_bp
    from designer.campaigns.views import bp as campaigns_bp
    from designer.campaigns.views import public as unsubscribe_bp
    from designer.crm.views import bp as crm_bp
    from designer.crm.writeback_views import bp as crm_writeback_bp
    from designer.mail.admin_views import bp as sending_bp
    from designer.mail.bounce_views import bp as bounces_bp
    from designer.mail.compose_views import bp as compose_bp
    from designer.mail.dkim_views import bp as dkim_bp
    from designer.mail.mailbox_views import bp as mailbox_bp
    from designer.mail.oauth_views import bp as oauth_bp
    from designer.mail.preference_views import bp as preferences_bp
    from designer.mail.suppression_views import bp as suppressions_bp
    from designer.mail.topic_views import bp as topics_bp
    from designer.mail.views import bp as mail_bp
    from designer.mail.webview_views import bp as webview_bp
    from designer.pdf.export_views import bp as exports_bp
    from designer.pdf.views import bp as pdf_bp
    from designer.records.picker_views import bp as record_picker_bp
    from designer.records.views import bp as records_bp
    from designer.settings.views import bp as settings_bp
    from designer.templating.attachment_views import bp as attachments_bp
    from designer.templating.builder_views import bp as builder_bp
    from designer.templating.label_views import bp as labels_bp
    from designer.templating.library_views import bp as library_bp
    from designer.templating.views import bp as templating_bp
    from designer.tracking.views import bp as tracking_bp
    from designer.webhooks.views import bp as webhooks_bp
    from designer.workflows.hook_views import bp as hooks_bp
    from designer.workflows.source_views import bp as hook_sources_bp
    from designer.workflows.views import bp as workflows_bp

    blueprints = (
        assets_bp,
        auth_bp,
        bounces_bp,
        campaigns_bp,
        list_send_bp,
        crm_writeback_bp,
        unsubscribe_bp,
        crm_bp,
        dkim_bp,
        health.bp,
        mailbox_bp,
        oauth_bp,
        mail_bp,
        pdf_bp,
        records_bp,
        record_picker_bp,
        sending_bp,
        settings_bp,
        templating_bp,
        tracking_bp,
        webview_bp,
        attachments_bp,
        builder_bp,
        labels_bp,
        library_bp,
        exports_bp,
        files_bp,
        hooks_bp,
        hook_sources_bp,
        webhooks_bp,
        workflows_bp,
        tokens_bp,
        account_bp,
        users_bp,
        suppressions_bp,
        topics_bp,
        preferences_bp,
        compose_bp,
    )
    for bp in blueprints:
        app.register_blueprint(bp)
    from designer import api

    api.init_app(app)
