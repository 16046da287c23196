"""Every signed-in page of the product, found from its URL map and its own links.

The pages without arguments come from the app's GET routes; detail pages (a template,
a campaign report, an organisation, a message, …) from the links those pages show,
one page for each endpoint, followed two links deep. A new page is covered as soon as
a route or a link leads to it.
"""

import re
from collections import Counter, deque

from designer import create_app

#: Endpoints that are not pages of the signed-in interface: files, the API, public
#: pages for recipients, the login and password links, the health check.
OUTSIDE = (
    "static",
    "health.",
    "auth.",
    "tracking.",
    "unsubscribe.",
    "preferences.",
    "webview.",
    "assets.",
    "api-docs.",
)
#: How many links deep from the menu's pages the detail pages are looked for.
DEPTH = 2
#: Detail pages visited per endpoint (two: a PDF template's editor links elsewhere than
#: an e-mail template's).
PER_ENDPOINT = 2
HREF = re.compile(r'href="(/[^"#?]*)')


def url_map():
    """The product's routes, bound for matching paths (building the app does no I/O)."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": "sqlite://",
            "REDIS_URL": "redis://127.0.0.1:9/0",
            "SECRET_KEY": "site-map-" * 5,
            "PUBLIC_URL": "http://designer.test",
        }
    )
    return app.url_map.bind("designer.test")


def _interface(endpoint):
    return not endpoint.startswith(OUTSIDE) and not endpoint[:1].isupper()


def start_paths(routes):
    """Paths of the GET routes without arguments that belong to the interface."""
    rules = routes.map.iter_rules()
    return sorted(
        r.rule for r in rules if "GET" in r.methods and not r.arguments and _interface(r.endpoint)
    )


def _endpoint(routes, path):
    from werkzeug.exceptions import HTTPException

    try:
        endpoint, _ = routes.match(path, method="GET")
    except HTTPException:
        return None
    return endpoint if _interface(endpoint) else None


def _layout_page(response, url):
    return (
        response.status == 200
        and response.url == url
        and response.headers.get("content-type", "").startswith("text/html")
        and 'class="topbar"' in response.text()
    )


def discover(request, base_url, routes, also=()):
    """``[(endpoint, path)]``: the pages the signed-in ``request`` may open, one for each
    endpoint without arguments and up to ``PER_ENDPOINT`` for each detail page; ``also``
    names detail pages to visit whatever the lists show first."""
    queue = deque((path, 0) for path in [*start_paths(routes), *also])
    seen = Counter(_endpoint(routes, path) for path, _ in queue)
    seen.update({endpoint: PER_ENDPOINT for endpoint in list(seen)})
    pages, queued = [], {path for path, _ in queue}
    while queue:
        path, depth = queue.popleft()
        response = request.get(base_url + path)
        if not _layout_page(response, base_url + path):
            continue
        pages.append((_endpoint(routes, path), path))
        if depth == DEPTH:
            continue
        for link in HREF.findall(response.text()):
            endpoint = _endpoint(routes, link)
            if endpoint and link not in queued and seen[endpoint] < PER_ENDPOINT:
                seen[endpoint] += 1
                queued.add(link)
                queue.append((link, depth + 1))
    return pages


def add_activity(request, base_url):
    """Send a template to a demo contact and save a campaign draft, as the admin's
    ``request`` (through the API, with the page's session): the demo data has neither.
    Returns the e-mail template's pages (the lists may show PDF templates first)."""
    contacts = request.get(f"{base_url}/contacts").text()
    contact_id = next(
        int(path.rsplit("/", 1)[1])
        for path in HREF.findall(contacts)
        if re.fullmatch(r"/contacts/\d+", path)
    )
    token = re.search(r'name="csrf-token" content="([^"]+)"', contacts).group(1)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    listed = request.get(f"{base_url}/api/v1/templates?kind=email", headers=headers).json()
    template_id = listed["templates"][0]["id"]
    sent = request.post(
        f"{base_url}/api/v1/messages",
        headers=headers,
        data={"template_id": template_id, "record": {"module": "contact", "id": contact_id}},
    )
    assert sent.status == 202, sent.text()
    draft = request.post(
        f"{base_url}/api/v1/campaigns",
        headers=headers,
        data={"name": "Layout check", "template_id": template_id, "filters": []},
    )
    assert draft.status in (200, 201), draft.text()
    return [f"/templates/{template_id}", f"/templates/{template_id}/visual"]
