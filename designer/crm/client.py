"""vtiger's webservice (``webservice.php``), spoken over HTTP: one logged-in session.

The protocol, as vtiger 7/8 and its forks answer it: ``getchallenge`` gives a
token, ``login`` takes the MD5 of token + the user's access key and answers a
``sessionName``; every other operation carries it. Answers are JSON
``{"success": true, "result": …}`` or ``{"success": false, "error": {"code",
"message"}}``. A session that expired is renewed once, transparently.

Every failure is a ``VtigerError`` whose ``kind`` says what to tell a person:
``unreachable`` (no answer), ``not_vtiger`` (an answer, but not vtiger's),
``credentials`` (wrong user or access key), ``denied`` (the user may not do
this), ``failed`` (vtiger refused the operation; its message is kept).
"""

import hashlib
import json
import re

import httpx

#: Seconds to wait for vtiger (a page of ``sync`` on a large CRM can take a while).
TIMEOUT = 60.0
#: Largest answer read from vtiger, in bytes (a ``sync`` page is well under this).
MAX_ANSWER = 64 * 1024 * 1024
#: Rows vtiger's ``query`` answers at most per call.
QUERY_PAGE = 100
#: vtiger error codes that mean the user or key is wrong.
CREDENTIAL_CODES = {"INVALID_USER_CREDENTIALS", "INVALID_AUTH_TOKEN", "AUTHENTICATION_REQUIRED"}
DENIED_CODES = {"ACCESS_DENIED", "PERMISSION_DENIED", "INVALID_MODULE"}
KINDS = ("unreachable", "not_vtiger", "credentials", "denied", "failed")
#: A webservice id, e.g. ``25x1041`` (the only thing put between quotes in a query).
ID = re.compile(r"[0-9]+x[0-9]+")


class VtigerError(Exception):
    """vtiger could not be asked, or said no; ``str()`` is a sentence for a person."""

    def __init__(self, kind, message, code=""):
        super().__init__(message)
        self.kind = kind
        self.code = code


class VtigerClient:
    """A session with one vtiger as one user; log in lazily, renew once when it expires."""

    def __init__(self, url, user, access_key, timeout=TIMEOUT, transport=None):
        self.url = url.rstrip("/")
        self.endpoint = self.url + "/webservice.php"
        self.user = user
        self.access_key = access_key
        self.session = None
        self.user_id = None
        self.version = ""
        self._http = httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        )

    def close(self):
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- the session --------------------------------------------------------

    def login(self):
        """Log in; return vtiger's login answer (``userId``, ``vtigerVersion`` …)."""
        token = self._call("GET", {"operation": "getchallenge", "username": self.user})["token"]
        digest = hashlib.md5((token + self.access_key).encode()).hexdigest()  # noqa: S324 (vtiger's protocol)
        result = self._call(
            "POST", {"operation": "login", "username": self.user, "accessKey": digest}
        )
        self.session = result["sessionName"]
        self.user_id = result.get("userId")
        self.version = result.get("vtigerVersion", "")
        return result

    def call(self, method, operation, **params):
        """Result of ``operation`` in the session (logging in first, renewing once)."""
        if self.session is None:
            self.login()
        try:
            return self._call(
                method, {"operation": operation, "sessionName": self.session, **params}
            )
        except VtigerError as exc:
            if exc.code not in ("INVALID_SESSIONID", "SESSION_EXPIRED"):
                raise
        self.login()
        return self._call(method, {"operation": operation, "sessionName": self.session, **params})

    # -- operations ---------------------------------------------------------

    def listtypes(self):
        """Names of the modules the user may reach."""
        return self.call("GET", "listtypes")["types"]

    def describe(self, module):
        """vtiger's description of ``module``: label, ``idPrefix``, ``fields`` …"""
        return self.call("GET", "describe", elementType=module)

    def retrieve(self, record_id):
        return self.call("GET", "retrieve", id=record_id)

    def query(self, statement):
        """Rows of one ``SELECT … ;`` (vtiger answers at most ``QUERY_PAGE`` rows)."""
        return self.call("GET", "query", query=statement)

    def query_all(self, statement):
        """Every row of ``SELECT …`` (no LIMIT, no ``;``), a page at a time."""
        offset = 0
        while True:
            rows = self.query(f"{statement} LIMIT {offset}, {QUERY_PAGE};")
            yield from rows
            if len(rows) < QUERY_PAGE:
                return
            offset += QUERY_PAGE

    def sync(self, module, modified_time, sync_type=""):
        """Changes to ``module`` since ``modified_time`` (vtiger's token, Unix seconds).

        ``{"updated": [...], "deleted": [ids], "more": bool, "lastModifiedTime": int}``.
        vtiger answers the records assigned to the user unless ``sync_type`` is
        ``"application"`` (every record; administrators only) or ``"userandgroup"``
        (the user's and its groups').
        """
        params = {"modifiedTime": str(int(modified_time)), "elementType": module}
        if sync_type:
            params["syncType"] = sync_type
        return self.call("GET", "sync", **params)

    def retrieve_many(self, module, ids, fields="*"):
        """The records of ``module`` with these ids that exist (one query per 100 ids)."""
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), QUERY_PAGE):
            listed = quoted_ids(ids[start : start + QUERY_PAGE])
            if listed:
                yield from self.query(f"SELECT {fields} FROM {module} WHERE id IN ({listed});")  # noqa: S608 (ids checked)

    def create(self, module, element):
        return self.call("POST", "create", elementType=module, element=json.dumps(element))

    def revise(self, element):
        """Change the given fields of ``element["id"]``, leaving the others as they are."""
        return self.call("POST", "revise", element=json.dumps(element))

    def delete(self, record_id):
        return self.call("POST", "delete", id=record_id)

    # -- HTTP ---------------------------------------------------------------

    def _call(self, method, params):
        answer = self._fetch(method, params)
        if not isinstance(answer, dict) or "success" not in answer:
            raise VtigerError("not_vtiger", f"{self.url} answers, but not as vtiger does")
        if answer["success"]:
            return answer.get("result")
        raise _refusal(answer.get("error"), params["operation"])

    def _fetch(self, method, params):
        try:
            if method == "GET":
                request = self._http.build_request("GET", self.endpoint, params=params)
            else:
                request = self._http.build_request("POST", self.endpoint, data=params)
            response = self._http.send(request, stream=True)
            try:
                body = _read(response)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise VtigerError(
                "unreachable", f"{self.url} cannot be reached: {_reason(exc)}"
            ) from None
        if response.status_code >= 400:
            raise VtigerError(
                "not_vtiger",
                f"{self.url} answered HTTP {response.status_code}: is this vtiger's address?",
            )
        try:
            return json.loads(body)
        except ValueError:
            raise VtigerError(
                "not_vtiger", f"{self.url} answers, but not with vtiger's webservice"
            ) from None


def quoted_ids(ids):
    """``'25x1','25x2'`` for a query's ``IN (…)``: only well-formed webservice ids get in."""
    return ",".join(f"'{i}'" for i in ids if isinstance(i, str) and ID.fullmatch(i))


def _read(response):
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER:
            raise VtigerError("failed", f"vtiger's answer is larger than {MAX_ANSWER} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _reason(exc):
    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host unknown"
    return exc.__class__.__name__


def _refusal(error, operation):
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code", ""))
    message = str(error.get("message", "")) or "no reason given"
    if code in CREDENTIAL_CODES or (operation == "getchallenge" and code == "ACCESS_DENIED"):
        return VtigerError(
            "credentials", f"vtiger refused the user name or access key ({message})", code
        )
    if code in DENIED_CODES:
        return VtigerError("denied", f"vtiger refused {operation}: {message}", code)
    return VtigerError("failed", f"vtiger could not {operation}: {message} ({code})", code)
