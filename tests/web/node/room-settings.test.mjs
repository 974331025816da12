// A room's settings over REST: only what changed is sent, the answer shows at once in the
// sidebar and the open room, a refusal comes back as the server's reason, and a deleted
// room is left with the owner's own notice.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../../service/web/static/api.js";
import { RoomSettings } from "../../../service/web/static/room-settings.js";
import { ChatState } from "../../../service/web/static/state.js";

const ME = { id: 1, username: "me", is_admin: false };
const ROOM = { id: 7, name: "lobby", description: "", private: false, kind: "group", owner_id: 1, last_seq: 0 };

function setUp(answer) {
  const state = new ChatState();
  state.reset(ME);
  state.addMemberRooms([ROOM]);
  const calls = [];
  const auth = {
    async request(method, path, options = {}) {
      calls.push([method, path, options.json]);
      return answer(method, path, options.json);
    },
  };
  const page = { ended: [], notices: [] };
  page.actions = { endRoom: (roomId, reason) => page.ended.push([roomId, reason]) };
  page.navigate = (hash, notice) => page.notices.push([hash, notice]);
  const changes = [];
  state.onChange((what, roomId) => changes.push([what, roomId]));
  return { state, calls, page, changes, settings: new RoomSettings(auth, state, page) };
}

test("only the fields that changed are sent, and the answer is shown at once", async () => {
  const { state, calls, changes, settings } = setUp((_m, _p, body) => ({ ...ROOM, ...body }));
  assert.equal(await settings.save(7, { name: "lobby", description: "where we meet" }), "");
  assert.deepEqual(calls, [["PATCH", "/rooms/7", { description: "where we meet" }]]);
  assert.equal(state.rooms.get(7).room.description, "where we meet");
  assert.ok(changes.some(([what]) => what === "rooms"));
  assert.ok(changes.some(([what, id]) => what === "room" && id === 7));
});

test("nothing changed, nothing is sent", async () => {
  const { calls, settings } = setUp(() => assert.fail("no request"));
  assert.equal(await settings.save(7, { name: "lobby", description: "" }), "");
  assert.deepEqual(calls, []);
});

test("a refused rename says why and changes nothing", async () => {
  const { state, settings } = setUp(() => {
    throw new ApiError(409, "room name already taken");
  });
  assert.equal(await settings.save(7, { name: "taken", description: "" }), "room name already taken");
  assert.equal(state.rooms.get(7).room.name, "lobby");
});

test("a deleted room is left at once, with the owner's own notice", async () => {
  const { calls, page, settings } = setUp(() => null);
  assert.equal(await settings.remove(7), "");
  assert.deepEqual(calls, [["DELETE", "/rooms/7", undefined]]);
  assert.deepEqual(page.ended, [[7, "room deleted"]]);
  assert.deepEqual(page.notices, [["#/rooms", "You deleted lobby."]]);
});

test("a refused deletion keeps the room and says why", async () => {
  const { page, settings } = setUp(() => {
    throw new ApiError(403, "only the owner or an admin can do this");
  });
  assert.equal(await settings.remove(7), "only the owner or an admin can do this");
  assert.deepEqual(page.ended, []);
});
