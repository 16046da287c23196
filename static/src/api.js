/* Designer's REST API (/api/v1) as the visual builder calls it: with the page's login session
 * and, on every change, the page's CSRF token (from <meta name="csrf-token">) in X-CSRFToken.
 * Errors come back as {"error": {"code", "message", "details"}}; requestJson rejects with an
 * Error carrying that message (or, without one, a text of its own in the page's language). */

import { t } from "./i18n.js";

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

const failed = (status) => t("The request failed (HTTP %(status)s).", { status });

/** fetch() with the session, JSON in and out; resolves to the body, null for 204. */
export function requestJson(url, { method = "GET", body, headers = {} } = {}) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken();
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  return fetch(url, options).then((response) => {
    if (response.status === 204) return null;
    return response.json().then(
      (data) => {
        if (!response.ok) {
          const error = new Error((data && data.error && data.error.message) || failed(response.status));
          error.status = response.status;
          error.details = data && data.error && data.error.details;
          throw error;
        }
        return data;
      },
      () => {
        const error = new Error(failed(response.status));
        error.status = response.status;
        throw error;
      }
    );
  });
}

/** Every item of a paged list (`{<key>: [...], page, per_page, total}`), page after page. */
export async function allPages(url, key) {
  const items = [];
  const separator = url.includes("?") ? "&" : "?";
  for (let page = 1; ; page += 1) {
    const body = await requestJson(`${url}${separator}page=${page}&per_page=100`);
    items.push(...(body[key] || []));
    if (!body[key] || !body[key].length || items.length >= body.total) return items;
  }
}
