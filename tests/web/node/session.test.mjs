// One login shared by the tabs of a browser: the refresh token in storage every tab reads,
// the access token per tab, rotation one tab at a time, and sign-in and sign-out seen by all.
// The server here rotates refresh tokens as the service does: a used one presented again
// revokes the whole login.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Auth } from "../../../service/web/static/session.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

/** The service's token rules: each refresh token works once; a reused one revokes its login. */
class Server {
  tokens = new Map(); // token -> {kind, family, used}
  revoked = new Set(); // families
  refreshes = 0;
  #next = 0;

  #issue(family) {
    const access = `a${++this.#next}`;
    const refresh = `r${++this.#next}`;
    this.tokens.set(access, { kind: "access", family });
    this.tokens.set(refresh, { kind: "refresh", family, used: false });
    return { access_token: access, refresh_token: refresh, token_type: "bearer", expires_in: 900 };
  }

  valid(access) {
    const token = this.tokens.get(access);
    return Boolean(token && token.kind === "access" && !this.revoked.has(token.family));
  }

  async fetch(url, { method, headers, body }) {
    await tick(); // concurrent requests interleave as they would over a network
    const path = url.replace("/api/v1", "");
    const bearer = (headers.Authorization || "").replace("Bearer ", "");
    const answer = (status, data) => ({ ok: status < 300, status, json: async () => data });
    if (method === "POST" && path === "/auth/token") return answer(200, this.#issue(`f${++this.#next}`));
    if (method === "POST" && path === "/auth/refresh") {
      this.refreshes += 1;
      const token = this.tokens.get(JSON.parse(body).refresh_token);
      if (!token || token.kind !== "refresh" || this.revoked.has(token.family)) {
        return answer(401, { detail: "token revoked" });
      }
      if (token.used) {
        this.revoked.add(token.family);
        return answer(401, { detail: "token revoked" });
      }
      token.used = true;
      return answer(200, this.#issue(token.family));
    }
    if (!this.valid(bearer)) return answer(401, { detail: "token revoked" });
    if (method === "GET" && path === "/users/me") return answer(200, { id: 1, username: "ann" });
    if (method === "POST" && path === "/auth/logout") {
      this.revoked.add(this.tokens.get(bearer).family);
      return answer(204, null);
    }
    return answer(404, { detail: "not found" });
  }
}

class MemoryStorage {
  #items = new Map();
  getItem(key) {
    return this.#items.has(key) ? this.#items.get(key) : null;
  }
  setItem(key, value) {
    this.#items.set(key, String(value));
  }
  removeItem(key) {
    this.#items.delete(key);
  }
}

/** A browser: Web Locks, and storage shared by its tabs as Chromium shares it: each tab reads
 * its own copy, which another tab's change reaches later (with the storage event), possibly
 * after a lock that tab let go of has been granted here. */
function browser() {
  const truth = new MemoryStorage();
  const tabs = [];
  const tails = new Map();
  const locks = {
    request(name, callback) {
      const run = (tails.get(name) || Promise.resolve()).then(() => callback({ name }));
      tails.set(name, run.catch(() => {}));
      return run;
    },
  };
  return {
    /** A tab; `session` is the tab's own sessionStorage (kept across its reloads). */
    tab(session = new MemoryStorage(), { withLocks = true } = {}) {
      const view = new MemoryStorage();
      const listeners = [];
      const me = { view, listeners };
      for (const key of ["chat.login"]) if (truth.getItem(key) !== null) view.setItem(key, truth.getItem(key));
      tabs.push(me);
      const write = (key, value) => {
        for (const storage of [truth, view]) {
          if (value === null) storage.removeItem(key);
          else storage.setItem(key, value);
        }
        for (const other of tabs.filter((t) => t !== me)) {
          setTimeout(() => {
            if (value === null) other.view.removeItem(key);
            else other.view.setItem(key, value);
            other.listeners.forEach((listener) => listener());
          }, 0);
        }
      };
      const local = {
        getItem: (key) => view.getItem(key),
        setItem: (key, value) => write(key, String(value)),
        removeItem: (key) => write(key, null),
      };
      const events = { signedOut: [], signedIn: 0 };
      const env = {
        local,
        session,
        locks: withLocks ? locks : undefined,
        listen: (listener) => listeners.push(listener),
        // Real timers, but a scheduled refresh (minutes away) never keeps the tests waiting.
        setTimeout: (callback, ms) => {
          const timer = setTimeout(callback, ms);
          if (ms > 10_000) timer.unref();
          return timer;
        },
        clearTimeout: (id) => clearTimeout(id),
      };
      const auth = new Auth(
        { signedOut: (reason) => events.signedOut.push(reason), signedIn: () => (events.signedIn += 1) },
        env,
      );
      return { auth, events, session, local };
    },
  };
}

function serve() {
  const server = new Server();
  globalThis.fetch = (url, options) => server.fetch(url, options);
  return server;
}

const settle = async () => {
  for (let i = 0; i < 5; i += 1) await tick();
};

test("a new tab is signed in with the login of the first, and gets its own access token", async () => {
  const server = serve();
  const home = browser();
  const first = home.tab();
  await first.auth.login("ann", "pw");
  const second = home.tab();
  assert.equal(second.auth.user.username, "ann");
  const token = await second.auth.accessToken();
  assert.ok(server.valid(token));
  assert.notEqual(token, await first.auth.accessToken());
  assert.ok(server.valid(await first.auth.accessToken()));
});

test("a reloaded tab keeps its access token and needs no refresh", async () => {
  const server = serve();
  const home = browser();
  const tab = home.tab();
  await tab.auth.login("ann", "pw");
  const token = await tab.auth.accessToken();
  const reloaded = home.tab(tab.session);
  assert.equal(reloaded.auth.user.username, "ann");
  assert.equal(await reloaded.auth.accessToken(), token);
  assert.equal(server.refreshes, 0);
});

test("tabs refreshing at once never present the same refresh token", async () => {
  const server = serve();
  const home = browser();
  const tabs = [home.tab(), home.tab(), home.tab()];
  await tabs[0].auth.login("ann", "pw");
  await settle();
  for (let round = 0; round < 3; round += 1) {
    await Promise.all(tabs.flatMap((tab) => [tab.auth.refresh(), tab.auth.refresh()]));
  }
  assert.equal(server.revoked.size, 0);
  for (const tab of tabs) {
    assert.ok(server.valid(await tab.auth.accessToken()));
    assert.deepEqual(tab.events.signedOut, []);
  }
  const again = home.tab();
  assert.ok(server.valid(await again.auth.accessToken()));
});

test("without Web Locks the same refresh token reaches the server twice (what the locks prevent)", async () => {
  const server = serve();
  const home = browser();
  const tabs = [home.tab(undefined, { withLocks: false }), home.tab(undefined, { withLocks: false })];
  await tabs[0].auth.login("ann", "pw");
  await settle();
  await Promise.allSettled(tabs.map((tab) => tab.auth.refresh()));
  assert.equal(server.revoked.size, 1);
});

test("signing out in one tab signs out the others, and the login is revoked", async () => {
  const server = serve();
  const home = browser();
  const [first, second] = [home.tab(), home.tab()];
  await first.auth.login("ann", "pw");
  await settle();
  const token = await second.auth.accessToken();
  await first.auth.logout();
  await settle();
  assert.equal(second.auth.user, null);
  assert.deepEqual(second.events.signedOut, ["you signed out in another tab"]);
  assert.equal(server.valid(token), false);
  assert.equal(home.tab().auth.user, null);
});

test("a login the server revoked signs out every tab", async () => {
  const server = serve();
  const home = browser();
  const [first, second] = [home.tab(), home.tab()];
  await first.auth.login("ann", "pw");
  server.revoked.add([...server.tokens.values()][0].family);
  await assert.rejects(first.auth.refresh());
  assert.deepEqual(first.events.signedOut, ["session expired"]);
  await settle();
  assert.equal(second.auth.user, null);
  assert.deepEqual(second.events.signedOut, ["session expired"]); // the reason the first tab was given
});

test("signing in in one tab signs in the tabs showing the sign-in form", async () => {
  const server = serve();
  const home = browser();
  const [first, second] = [home.tab(), home.tab()];
  await first.auth.login("ann", "pw");
  await settle();
  assert.equal(second.events.signedIn, 1);
  assert.equal(second.auth.user.username, "ann");
  assert.ok(server.valid(await second.auth.accessToken()));
});

test("a tab whose login was replaced by a newer one in another tab takes the newer one", async () => {
  const server = serve();
  const home = browser();
  const [first, second] = [home.tab(), home.tab()];
  await first.auth.login("ann", "pw");
  await settle();
  const old = await second.auth.accessToken();
  await first.auth.login("ann", "pw");
  await settle();
  assert.equal(second.events.signedIn, 2);
  const token = await second.auth.accessToken();
  assert.notEqual(token, old);
  assert.ok(server.valid(token));
  assert.equal(server.revoked.size, 0);
});

test("a token left marked by a tab closed mid-refresh is presented after a while, not waited on for ever", async () => {
  const server = serve();
  const home = browser();
  const first = home.tab();
  await first.auth.login("ann", "pw");
  const stored = JSON.parse(first.local.getItem("chat.login"));
  first.local.setItem("chat.login", JSON.stringify({ ...stored, presenting: true }));
  await settle();
  const second = home.tab();
  assert.ok(server.valid(await second.auth.accessToken()));
  assert.equal(server.revoked.size, 0);
});
