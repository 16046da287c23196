"""Response headers that keep pages safe: a Content-Security-Policy and friends.

Pages load scripts only from the app itself; previews of user templates
(in sandboxed iframes) may show remote images and styles, as mail clients
would, but never run scripts. Responses that set their own policy (template
previews, assets) keep it.
"""

PAGE_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline' https: http:",
    "img-src * data:",
    "font-src 'self' data: https: http:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
])


def init_app(app):
    @app.after_request
    def secure_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
