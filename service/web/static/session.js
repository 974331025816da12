// The login session: tokens, refresh before expiry, one retry on 401, shared by the tabs.
// Every tab of the browser uses one login: its refresh token is kept where all tabs read it,
// while each tab holds an access token of its own. The service revokes a whole login when
// a refresh token is presented twice (theft detection), so a refresh runs under a lock held
// by one tab at a time and presents the token stored now, never one remembered from before.
// A tab's copy of the storage may lag behind a write of another tab (Chromium keeps one per
// tab), so the token is marked while it is being presented: a tab that finds it still marked
// waits for the outcome to reach it, rather than presenting it again.

import { ApiError, SignedOut, call } from "./api.js";
import { LoginStore, browserEnv, newLoginId } from "./tab-sync.js";

const REFRESH_RETRY_MS = 5000;
const OUTCOME_WAIT_MS = 2000; // for another tab's new token; longer, that tab was closed mid-refresh
const ELSEWHERE = "you signed out in another tab";

export class Auth {
  #store;
  #session = null; // this tab's: {login, user, access_token (null until it has one), expires_at, lifetime_ms}
  #refreshing = null;
  #timer = 0;

  /** on: {signedOut(reason), signedIn()}: signedIn when another tab signs in (this tab takes that login). */
  constructor(on, env = browserEnv()) {
    this.on = on;
    this.env = env;
    this.#store = new LoginStore(env);
    this.#adopt();
    if (this.#session && this.#session.access_token) this.#schedule();
    this.#store.listen(() => this.#sharedChanged());
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
    const login = newLoginId();
    this.#store.saveShared(login, token.refresh_token, user);
    this.#keep(login, user, token);
    return user;
  }

  /** A usable access token; refreshed first when missing, close to expiry, or when `rejected` is it. */
  async accessToken({ rejected } = {}) {
    const session = this.#session;
    if (!session) throw new SignedOut("not signed in");
    const margin = Math.min(30_000, session.lifetime_ms / 4);
    if (!session.access_token || session.access_token === rejected || session.expires_at - Date.now() < margin) {
      await this.refresh();
    }
    if (!this.#session) throw new SignedOut("not signed in");
    return this.#session.access_token;
  }

  /** One refresh at a time in this tab, and under the lock across tabs. */
  refresh() {
    if (!this.#refreshing) {
      this.#refreshing = this.#store.exclusive(() => this.#refresh()).finally(() => {
        this.#refreshing = null;
      });
    }
    return this.#refreshing;
  }

  async #refresh() {
    const session = this.#session;
    if (!session) throw new SignedOut("not signed in");
    // Another tab may have rotated the token since, or signed out: the storage says which.
    let shared = this.#store.shared();
    const until = Date.now() + OUTCOME_WAIT_MS;
    while (shared && shared.presenting && Date.now() < until) {
      await this.#store.changed(until - Date.now());
      shared = this.#store.shared();
    }
    if (!shared || shared.login !== session.login) {
      this.#sharedChanged();
      throw new SignedOut(this.#store.endedBecause() || ELSEWHERE);
    }
    this.#store.saveShared(session.login, shared.refresh_token, shared.user, true);
    let token;
    try {
      token = await call("POST", "/auth/refresh", { json: { refresh_token: shared.refresh_token } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.signOut("session expired");
        throw new SignedOut("session expired");
      }
      // Unreachable server: keep the session (unmarked), try again later.
      const now = this.#store.shared();
      if (now && now.refresh_token === shared.refresh_token) {
        this.#store.saveShared(session.login, shared.refresh_token, shared.user);
      }
      throw error;
    }
    // Stored before the lock is let go, unless the login ended meanwhile (signed out here or elsewhere).
    const now = this.#store.shared();
    if (!now || now.login !== session.login) return;
    this.#store.saveShared(session.login, token.refresh_token, session.user);
    if (this.#session === session) this.#keep(session.login, session.user, token);
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

  /** Revoke the login on the server (best effort) and forget it here and in the other tabs. */
  async logout() {
    const session = this.#session;
    if (!session) return;
    let token = session.access_token;
    if (!token) token = await this.accessToken().catch(() => null);
    const shared = this.#store.shared();
    const refreshToken = shared && shared.login === session.login ? shared.refresh_token : undefined;
    this.#clear(session.login, ELSEWHERE);
    if (!token) return;
    try {
      await call("POST", "/auth/logout", { token, json: { refresh_token: refreshToken } });
    } catch {
      // Already expired or unreachable: nothing more to revoke from here.
    }
  }

  /** The server refused the session (revoked, invalid): forget it in every tab and tell the app. */
  signOut(reason) {
    const session = this.#session;
    if (!session) return;
    this.#clear(session.login, reason);
    this.on.signedOut(reason);
  }

  /** Take the shared login, keeping this tab's access token when it belongs to it. */
  #adopt() {
    const shared = this.#store.shared();
    const own = this.#store.own();
    if (!shared) {
      this.#session = null;
      if (own) this.#store.clearOwn();
      return;
    }
    if (own && own.login === shared.login) {
      this.#session = { ...own, user: shared.user };
      return;
    }
    this.#store.clearOwn();
    this.#session = { login: shared.login, user: shared.user, access_token: null, expires_at: 0, lifetime_ms: 0 };
  }

  /** Another tab changed the shared login: a rotation of ours needs nothing; else follow it. */
  #sharedChanged() {
    const shared = this.#store.shared();
    const session = this.#session;
    if (session && shared && shared.login === session.login) return;
    if (!session && !shared) return;
    this.env.clearTimeout(this.#timer);
    this.#adopt();
    if (this.#session) this.on.signedIn();
    else this.on.signedOut(this.#store.endedBecause() || ELSEWHERE);
  }

  #keep(login, user, token) {
    const lifetime = token.expires_in * 1000;
    this.#session = {
      login,
      user,
      access_token: token.access_token,
      expires_at: Date.now() + lifetime,
      lifetime_ms: lifetime,
    };
    this.#store.saveOwn(this.#session);
    this.#schedule();
  }

  #clear(login, reason) {
    this.env.clearTimeout(this.#timer);
    this.#session = null;
    this.#store.forget(login, reason);
  }

  // Refresh ahead of expiry so sockets reconnect with a valid token at once.
  #schedule() {
    this.env.clearTimeout(this.#timer);
    const session = this.#session;
    const ahead = Math.min(60_000, session.lifetime_ms / 5);
    const wait = Math.max(1000, session.expires_at - ahead - Date.now());
    this.#timer = this.env.setTimeout(() => {
      this.refresh().catch((error) => {
        if (!(error instanceof SignedOut) && this.#session === session) {
          this.#timer = this.env.setTimeout(() => this.#schedule(), REFRESH_RETRY_MS);
        }
      });
    }, wait);
  }
}
