"""A small OAuth2 authorization server on loopback, built with Authlib's server side.

It stands in for Google or Microsoft in the tests: the authorization-code
flow with PKCE (its sign-in and consent page is a plain form), refresh
tokens, token introspection (RFC 7662, asked by Dovecot's ``oauth2`` passdb)
and revocation (RFC 7009). Everything lives in memory; ``access_lifetime``
makes access tokens short-lived for the expiry tests and ``revoke_account``
revokes every token of one account as a user would from their account page.
"""

import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, request
from werkzeug.serving import WSGIRequestHandler, make_server

CLIENT_ID = "designer-test-client"
CLIENT_SECRET = "designer-test-secret"
#: Dovecot's own client for introspection.
DOVECOT_ID, DOVECOT_SECRET = "dovecot", "dovecot-secret"
#: The mail account the tests sign in to with OAuth2 (a Dovecot user, and Postfix's).
OAUTH_USER = "carol@example.test"
SCOPE = "mail"

LOGIN_FORM = """<!doctype html><title>Test sign-in</title>
<form method="post"><p>Sign in to the test provider to let Designer use your mail.</p>
<label>Account <input name="account" value="{account}"></label>
<button name="consent" value="yes">Allow</button>
<button name="consent" value="no">Deny</button></form>"""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list = field(default_factory=list)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    account: str
    code_challenge: str
    code_challenge_method: str

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return None

    def get_auth_time(self):
        return None


@dataclass
class Token:
    client_id: str
    account: str
    scope: str
    access_token: str
    refresh_token: str
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client):
        return client.client_id in (self.client_id, DOVECOT_ID)

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self):
        return self.revoked


class Provider:
    """The server's state and its Flask app; ``start`` serves it on a free loopback port."""

    def __init__(self):
        self.clients = {
            CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET),
            DOVECOT_ID: Client(DOVECOT_ID, DOVECOT_SECRET),
        }
        self.codes, self.tokens = {}, []
        self.access_lifetime = 3600
        self.refreshes = 0
        self.introspections = 0
        self.lock = threading.Lock()
        self.app = self._build()
        self.server = None

    # State -------------------------------------------------------------------------

    def allow_redirect(self, uri):
        self.clients[CLIENT_ID].redirect_uris.append(uri)

    def find(self, value):
        with self.lock:
            for token in self.tokens:
                if value in (token.access_token, token.refresh_token):
                    return token
        return None

    def revoke_account(self, account):
        with self.lock:
            for token in self.tokens:
                if token.account == account:
                    token.revoked = True

    def expire_access_tokens(self, account):
        """The access tokens of ``account`` stop working (their refresh tokens still do)."""
        with self.lock:
            for token in self.tokens:
                if token.account == account:
                    token.issued_at = 0

    def issue_for(self, account):
        """Tokens for ``account`` as the code flow would give them (for tests that do not
        go through the browser)."""
        token = Token(
            CLIENT_ID,
            account,
            SCOPE,
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            time.time(),
            self.access_lifetime,
        )
        with self.lock:
            self.tokens.append(token)
        return token

    # The app ------------------------------------------------------------------------

    def _build(self):
        app = Flask("oauth-test-provider")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {}
        provider = self

        def save_token(token, req):
            with provider.lock:
                provider.tokens.append(
                    Token(
                        req.client.client_id,
                        req.user,
                        token.get("scope", ""),
                        token["access_token"],
                        token.get("refresh_token", ""),
                        time.time(),
                        token["expires_in"],
                    )
                )

        server = AuthorizationServer(
            app, query_client=lambda cid: provider.clients.get(cid), save_token=save_token
        )
        server.register_token_generator(
            "default",
            _generator(provider),
        )

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                provider.codes[code] = Code(
                    code,
                    req.client.client_id,
                    req.payload.redirect_uri,
                    req.payload.scope or "",
                    req.user,
                    req.payload.data.get("code_challenge"),
                    req.payload.data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.account

        class RefreshGrant(grants.RefreshTokenGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token):
                token = provider.find(refresh_token)
                if token and token.refresh_token == refresh_token and not token.revoked:
                    provider.refreshes += 1
                    return token
                return None

            def authenticate_user(self, credential):
                return credential.account

            def revoke_old_credential(self, credential):
                credential.revoked = True

        class Introspection(IntrospectionEndpoint):
            CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def query_token(self, token_string, token_type_hint):
                provider.introspections += 1
                return provider.find(token_string)

            def introspect_token(self, token):
                return {
                    "active": True,
                    "client_id": token.client_id,
                    "token_type": "Bearer",
                    "username": token.account,
                    "scope": token.scope,
                    "sub": token.account,
                    "exp": int(token.issued_at + token.expires_in),
                    "iat": int(token.issued_at),
                }

            def check_permission(self, token, client, req):
                return True

        class Revocation(RevocationEndpoint):
            CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def query_token(self, token_string, token_type_hint):
                return provider.find(token_string)

            def revoke_token(self, token, req):
                token.revoked = True

        server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        server.register_grant(RefreshGrant)
        server.register_endpoint(Introspection)
        server.register_endpoint(Revocation)

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            grant = server.get_consent_grant(end_user=None)  # checks the request
            if request.method == "GET":
                return LOGIN_FORM.format(account=request.args.get("login_hint", ""))
            account = request.form.get("account") if request.form.get("consent") == "yes" else None
            return server.create_authorization_response(grant=grant, grant_user=account)

        @app.route("/token", methods=["POST"])
        def token():
            return server.create_token_response()

        @app.route("/introspect", methods=["POST"])
        def introspect():
            return server.create_endpoint_response("introspection")

        @app.route("/revoke", methods=["POST"])
        def revoke():
            return server.create_endpoint_response("revocation")

        return app

    # Serving ------------------------------------------------------------------------

    def start(self, port):
        self.server = make_server(
            "127.0.0.1", port, self.app, threaded=True, request_handler=_Quiet
        )
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args):
        pass


def _generator(provider):
    def generate(grant_type, client, user=None, scope=None, expires_in=None, **kwargs):
        token = {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(24),
            "expires_in": provider.access_lifetime,
            "refresh_token": secrets.token_urlsafe(24),
        }
        if scope:
            token["scope"] = scope
        return token

    return generate
