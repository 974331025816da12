// Where a login is kept, so the browser's tabs share it: the refresh token and the user in
// localStorage (every tab of the origin reads it, and hears when another tab changes it),
// each tab's access token in its own sessionStorage (kept across a reload of that tab).
// A login has an id of its own, so a tab can tell a rotation of its login from a new one.

const SHARED_KEY = "chat.login";
const OWN_KEY = "chat.session";
const REFRESH_LOCK = "chat.refresh";

function read(storage, key) {
  try {
    const value = JSON.parse(storage.getItem(key));
    return value && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

/** A fresh login's id: random, not secret (crypto.randomUUID needs a secure context). */
export function newLoginId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The browser's own storage, locks and storage events; the Node tests pass their own. */
export function browserEnv() {
  return {
    local: localStorage,
    session: sessionStorage,
    locks: navigator.locks, // absent outside a secure context (plain http off localhost)
    listen(listener) {
      window.addEventListener("storage", (event) => {
        // key null: the whole storage was cleared
        if (event.storageArea === localStorage && (event.key === SHARED_KEY || event.key === null)) listener();
      });
    },
    setTimeout: (callback, ms) => window.setTimeout(callback, ms),
    clearTimeout: (id) => window.clearTimeout(id),
  };
}

export class LoginStore {
  #listeners = [];
  #waiters = [];

  constructor(env) {
    this.env = env;
    env.listen(() => {
      this.#waiters.splice(0).forEach((wake) => wake());
      this.#listeners.forEach((listener) => listener());
    });
  }

  /** {login, refresh_token, user, presenting} shared by the tabs, or null. */
  shared() {
    const value = read(this.env.local, SHARED_KEY);
    return value && typeof value.login === "string" && typeof value.refresh_token === "string" ? value : null;
  }

  /** This tab's {login, access_token, expires_at, lifetime_ms, user}, or null. */
  own() {
    const value = read(this.env.session, OWN_KEY);
    return value && typeof value.login === "string" && typeof value.access_token === "string" ? value : null;
  }

  saveShared(login, refreshToken, user, presenting = false) {
    this.env.local.setItem(SHARED_KEY, JSON.stringify({ login, refresh_token: refreshToken, user, presenting }));
  }

  /** Until another tab changes the shared login, or `ms` have passed. */
  changed(ms) {
    return new Promise((resolve) => {
      const timer = this.env.setTimeout(resolve, ms);
      this.#waiters.push(() => {
        this.env.clearTimeout(timer);
        resolve();
      });
    });
  }

  saveOwn(session) {
    this.env.session.setItem(OWN_KEY, JSON.stringify(session));
  }

  clearOwn() {
    this.env.session.removeItem(OWN_KEY);
  }

  /** Why the shared login ended, when it did (the other tabs tell their users the same). */
  endedBecause() {
    const value = read(this.env.local, SHARED_KEY);
    return value && typeof value.ended === "string" ? value.ended : "";
  }

  /** Forget the login here, and in every tab when it is still the one they share, with why. */
  forget(login, reason) {
    this.clearOwn();
    const shared = this.shared();
    if (shared && shared.login === login) this.env.local.setItem(SHARED_KEY, JSON.stringify({ login, ended: reason }));
  }

  /** listener() when another tab changed the shared login (rotated, signed in or out). */
  listen(listener) {
    this.#listeners.push(listener);
  }

  /** Run `task` while no other tab of the browser runs one: refreshes go one at a time. */
  exclusive(task) {
    const locks = this.env.locks;
    // Without Web Locks, tabs still re-read the stored token first, which narrows the race.
    return locks ? locks.request(REFRESH_LOCK, () => task()) : task();
  }
}
