/* Designer API docs: Swagger UI (from static/dist/swagger-ui/) over /api/openapi.json. */
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) return;
  var csrf = document.querySelector('meta[name="csrf-token"]');

  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Without a token, "Try it out" runs as the logged-in user: send the page's CSRF token.
    requestInterceptor: function (request) {
      if (csrf && !request.headers.Authorization) {
        request.headers["X-CSRFToken"] = csrf.getAttribute("content");
      }
      return request;
    }
  });
})();
