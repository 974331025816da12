"""Presence on a Redis Cluster: the same sorted set and hash per room as on one
Redis (redis.py), with the room as their hash tag (`<prefix>:presence:{room:<id>}`
and `…:users`), so each script's keys are on one slot and the rooms spread over
the masters by their ids.

The index of rooms with someone online (`<prefix>:presence-rooms`) is on a slot
of its own, so no script touches it: a join adds its room with a plain SADD, and
the sweep reads the index, runs the per-room script on each room (pipelined, one
round trip per master), and removes the rooms found empty. A join racing that
removal is put back in the index by its instance's next refresh (every ttl / 4).

redis-py's cluster pipeline does not load scripts as its single-Redis pipeline
does: the scripts are loaded on every master before the first pipeline, and again
after a pipeline finds one missing (a replica promoted since has an empty script
cache); that pipeline fails, and the upkeep's next round does its work."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError, ResponseError

from service.presence.redis import _LIVE, _NOW, _ONLINE, RedisPresence
from service.presence.store import Change, Entry

# KEYS: members, users. ARGV: user_id, instance, user JSON, ttl. As _JOIN, less the index.
_JOIN_ROOM = (
    _NOW
    + _LIVE
    + """
local me = ARGV[1] .. ':' .. ARGV[2]
local others = live_elsewhere(KEYS[1], ARGV[1], me)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), me)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if added == 1 and not others then return 1 end
return 0
"""
)

# KEYS: members, users. ARGV: user_id, instance. As _LEAVE; the sweep prunes the index.
_LEAVE_ROOM = (
    _NOW
    + _LIVE
    + """
local me = ARGV[1] .. ':' .. ARGV[2]
redis.call('ZREM', KEYS[1], me)
if live_elsewhere(KEYS[1], ARGV[1], me) then return false end
local user = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return user
"""
)

# KEYS: members, users. {empty (1 or 0), user_id, user JSON, ...}: the users whose last
# entry expired, and whether no one is left.
_SWEEP_ROOM = (
    _NOW
    + """
local out = {0}
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
if #expired > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
  local live = {}
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    live[string.match(m, '^(%d+):') or ''] = true
  end
  for _, m in ipairs(expired) do
    local uid = string.match(m, '^(%d+):')
    if uid and not live[uid] then
      local user = redis.call('HGET', KEYS[2], uid)
      if user then
        redis.call('HDEL', KEYS[2], uid)
        table.insert(out, uid)
        table.insert(out, user)
      end
    end
  end
end
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('HLEN', KEYS[2]) == 0 then out[1] = 1 end
return out
"""
)


class ClusterPresence(RedisPresence):
    def __init__(self, url: str, prefix: str, ttl_seconds: float) -> None:
        super().__init__(url, prefix, ttl_seconds)
        self._join_room = self._redis.register_script(_JOIN_ROOM)
        self._leave_room = self._redis.register_script(_LEAVE_ROOM)
        self._online = self._redis.register_script(_ONLINE)
        self._sweep_room = self._redis.register_script(_SWEEP_ROOM)
        self._scripts_loaded = False

    def _keys(self, room_id: int) -> list[str]:
        members = f"{self._prefix}{{room:{room_id}}}"
        return [members, f"{members}:users", self._rooms_key]

    def _typing_key(self, room_id: int, user_id: int) -> str:
        return f"{self._typing_prefix}{{room:{room_id}}}:{user_id}"

    async def join(self, room_id: int, user_id: int, user_json: bytes) -> bool:
        await self._redis.sadd(self._rooms_key, room_id)  # indexed first, so the sweep sees the entry
        args: list[bytes | str | int | float] = [user_id, self._instance, user_json, self._ttl]
        return bool(await self._join_room(keys=self._keys(room_id)[:2], args=args))

    async def leave(self, room_id: int, user_id: int) -> bytes | None:
        user: bytes | None = await self._leave_room(keys=self._keys(room_id)[:2], args=[user_id, self._instance])
        return user

    async def refresh(self, entries: Sequence[Entry]) -> list[Change]:
        if not entries:
            return []
        added = await self._join_many(entries)
        return [entry for entry, new in zip(entries, added, strict=True) if new]

    async def _join_many(self, entries: Sequence[Entry]) -> list[int]:
        """Each entry's join (1: announce it), its room indexed first so the sweep sees it."""
        await self._load_scripts()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self._rooms_key, *{room_id for room_id, _, _ in entries})
            for room_id, user_id, user_json in entries:
                args: list[bytes | str | int | float] = [user_id, self._instance, user_json, self._ttl]
                await self._join_room(keys=self._keys(room_id)[:2], args=args, client=pipe)  # type: ignore[arg-type]  # a cluster pipeline runs it
            results = await self._execute(pipe)
        return [int(r) for r in results[1:]]

    async def _load_scripts(self) -> None:
        if not self._scripts_loaded:
            for script in (self._join_room, self._sweep_room):
                await self._redis.script_load(script.script)  # on every master
            self._scripts_loaded = True

    async def _execute(self, pipe: Any) -> list[Any]:
        try:
            results: list[Any] = await pipe.execute()
        except ResponseError as exc:
            if isinstance(exc, NoScriptError) or "NOSCRIPT" in str(exc) or "No matching script" in str(exc):
                self._scripts_loaded = False
            raise
        return results

    async def sweep(self) -> list[Change]:
        rooms = sorted(int(r) for r in await self._redis.smembers(self._rooms_key))
        if not rooms:
            return []
        await self._load_scripts()
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in rooms:
                await self._sweep_room(keys=self._keys(room_id)[:2], client=pipe)  # type: ignore[arg-type]  # a cluster pipeline runs it
            results = await self._execute(pipe)
        left: list[Change] = []
        empty = []
        for room_id, out in zip(rooms, results, strict=True):
            if int(out[0]):
                empty.append(room_id)
            left += [(room_id, int(out[i]), out[i + 1]) for i in range(1, len(out), 2)]
        if empty:
            await self._redis.srem(self._rooms_key, *empty)
        return left
