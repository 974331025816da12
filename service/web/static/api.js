// REST calls and the login session: tokens, refresh before expiry, one retry on 401.

const API = "/api/v1";
const STORAGE_KEY = "chat.session";
const REFRESH_RETRY_MS = 5000;

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

async function call(method, path, { token, json, form } = {}) {
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

/** The logged-in user's tokens, kept in sessionStorage so a reload keeps the tab signed in. */
export class Auth {
  #session = null;
  #refreshing = null;
  #timer = 0;

  constructor(onSignedOut) {
    this.onSignedOut = onSignedOut;
    try {
      this.#session = JSON.parse(sessionStorage.getItem(STORAGE_KEY));
    } catch {
      this.#session = null;
    }
    if (this.#session) this.#schedule();
  }

  get user() {
    return this.#session ? this.#session.user : null;
  }

  async register(username, password) {
    await call("POST", "/auth/register", { json: { username, password } });
    return this.login(username, password);
  }

  async login(username, password) {
    const token = await call("POST", "/auth/token", { form: { username, password } });
    const user = await call("GET", "/users/me", { token: token.access_token });
    this.#store(token, user);
    return user;
  }

  /** A usable access token; refreshed first when close to expiry or when `rejected` is it. */
  async accessToken({ rejected } = {}) {
    const session = this.#session;
    if (!session) throw new SignedOut("not signed in");
    const margin = Math.min(30_000, session.lifetime_ms / 4);
    if (session.access_token === rejected || session.expires_at - Date.now() < margin) {
      await this.refresh();
    }
    return this.#session.access_token;
  }

  /** One refresh at a time: a refresh token used twice revokes the whole login (theft detection). */
  refresh() {
    if (!this.#refreshing) {
      this.#refreshing = this.#refresh().finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  async #refresh() {
    const session = this.#session;
    if (!session) throw new SignedOut("not signed in");
    let token;
    try {
      token = await call("POST", "/auth/refresh", { json: { refresh_token: session.refresh_token } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signOut("session expired");
        throw new SignedOut("session expired");
      }
      throw error; // unreachable server: keep the session, try again later
    }
    if (this.#session === session) this.#store(token, session.user);
  }

  /** JSON REST call with the bearer token; a 401 gets one refresh and one retry. */
  async request(method, path, options = {}) {
    let token = await this.accessToken();
    try {
      return await call(method, path, { ...options, token });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
    token = await this.accessToken({ rejected: token });
    try {
      return await call(method, path, { ...options, token });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signOut("session expired");
        throw new SignedOut("session expired");
      }
      throw error;
    }
  }

  /** Revoke the tokens on the server (best effort) and forget them here. */
  async logout() {
    const session = this.#session;
    this.#clear();
    if (!session) return;
    try {
      await call("POST", "/auth/logout", {
        token: session.access_token,
        json: { refresh_token: session.refresh_token },
      });
    } catch {
      // Already expired or unreachable: nothing more to revoke from here.
    }
  }

  /** The server refused the session (revoked, invalid): forget it and tell the app. */
  signOut(reason) {
    if (!this.#session) return;
    this.#clear();
    this.onSignedOut(reason);
  }

  #store(token, user) {
    const lifetime = token.expires_in * 1000;
    this.#session = {
      access_token: token.access_token,
      refresh_token: token.refresh_token,
      expires_at: Date.now() + lifetime,
      lifetime_ms: lifetime,
      user,
    };
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(this.#session));
    this.#schedule();
  }

  #clear() {
    clearTimeout(this.#timer);
    this.#session = null;
    sessionStorage.removeItem(STORAGE_KEY);
  }

  // Refresh ahead of expiry so sockets reconnect with a valid token at once.
  #schedule() {
    clearTimeout(this.#timer);
    const session = this.#session;
    const ahead = Math.min(60_000, session.lifetime_ms / 5);
    const wait = Math.max(1000, session.expires_at - ahead - Date.now());
    this.#timer = setTimeout(() => {
      this.refresh().catch((error) => {
        if (!(error instanceof SignedOut) && this.#session === session) {
          this.#timer = setTimeout(() => this.#schedule(), REFRESH_RETRY_MS);
        }
      });
    }, wait);
  }
}
