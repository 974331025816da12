// REST calls and their errors; the login session that supplies the tokens is session.js.

const API = "/api/v1";

/** An answer other than 2xx; `detail` is readable text. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** The session is gone (refresh refused, token revoked): log in again. */
export class SignedOut extends Error {}

function detailText(status, body) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI's validation errors: say which field, not the raw structure.
    return detail
      .map((d) => {
        const field = Array.isArray(d.loc) ? d.loc[d.loc.length - 1] : "";
        return field ? `${field}: ${d.msg}` : String(d.msg);
      })
      .join("; ");
  }
  return `request failed (${status})`;
}

/** One JSON call to the API; an answer other than 2xx throws ApiError. */
export async function call(method, path, { token, json, form } = {}) {
  const headers = {};
  let body;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  const response = await fetch(API + path, { method, headers, body, credentials: "omit" });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, detailText(response.status, data));
  return data;
}
