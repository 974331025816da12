"""Presence shared by every instance through Redis.

Per room, a sorted set of "<user_id>:<instance>" scored by expiry time and a hash
of the users announced online (user_id -> User JSON). Scripts run atomically and
use Redis's clock, so instances never disagree on who appeared or left: a user is
announced when their entry is added while they have no other live one, and
leaves when their last live entry goes (the hash then forgets them). Each
instance refreshes its entries every `ttl / 4`; entries of a crashed instance
expire after `ttl` and the next sweep, on any instance, announces those leaves."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from service.presence.store import Change, Entry
from service.redis_client import connect

TYPING_THROTTLE_MS = 2000

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""
# live_elsewhere(members, user_id, member): whether the user has a live entry other than `member`.
_LIVE = """
local function live_elsewhere(members, uid, member)
  local prefix = uid .. ':'
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', members, now, '+inf')) do
    if m ~= member and string.sub(m, 1, #prefix) == prefix then return true end
  end
  return false
end
"""

# KEYS: members, users, rooms. ARGV: user_id, instance, user JSON, ttl, room_id.
# 1 when this entry is new and the user had no other live one: announce a join.
# (A crashed instance's entry may have expired unswept: clients that connected
# since were told the user is offline, so their return is a join again.)
_JOIN = (
    _NOW
    + _LIVE
    + """
local me = ARGV[1] .. ':' .. ARGV[2]
local others = live_elsewhere(KEYS[1], ARGV[1], me)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), me)
redis.call('SADD', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if added == 1 and not others then return 1 end
return 0
"""
)

# KEYS: members, users, rooms. ARGV: user_id, instance, room_id.
# The user's JSON when no live entry of theirs remains, else nil.
_LEAVE = (
    _NOW
    + _LIVE
    + """
local me = ARGV[1] .. ':' .. ARGV[2]
redis.call('ZREM', KEYS[1], me)
if live_elsewhere(KEYS[1], ARGV[1], me) then return false end
local user = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('HLEN', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[3], ARGV[3])
end
return user
"""
)

# KEYS: members, users. The JSON of users with a live entry.
_ONLINE = (
    _NOW
    + """
local seen, out = {}, {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')) do
  local uid = string.match(m, '^(%d+):')
  if uid and not seen[uid] then
    seen[uid] = true
    local user = redis.call('HGET', KEYS[2], uid)
    if user then table.insert(out, user) end
  end
end
return out
"""
)

# KEYS: rooms. ARGV: key prefix of the rooms' sets. Flat {room_id, user_id, user JSON, ...}
# of the users whose last entry in a room expired.
_SWEEP = (
    _NOW
    + """
local left = {}
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local members = ARGV[1] .. room
  local users = members .. ':users'
  local expired = redis.call('ZRANGEBYSCORE', members, '-inf', '(' .. now)
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', members, '-inf', '(' .. now)
    local live = {}
    for _, m in ipairs(redis.call('ZRANGE', members, 0, -1)) do
      live[string.match(m, '^(%d+):') or ''] = true
    end
    for _, m in ipairs(expired) do
      local uid = string.match(m, '^(%d+):')
      if uid and not live[uid] then
        local user = redis.call('HGET', users, uid)
        if user then
          redis.call('HDEL', users, uid)
          table.insert(left, room)
          table.insert(left, uid)
          table.insert(left, user)
        end
      end
    end
  end
  if redis.call('ZCARD', members) == 0 and redis.call('HLEN', users) == 0 then
    redis.call('SREM', KEYS[1], room)
  end
end
return left
"""
)


class RedisPresence:
    needs_upkeep = True

    def __init__(self, url: str, prefix: str, ttl_seconds: float) -> None:
        self._prefix = f"{prefix}:presence:"
        self._typing_prefix = f"{prefix}:typing:"
        self._rooms_key = f"{prefix}:presence-rooms"
        self._ttl = ttl_seconds
        self.upkeep_seconds = ttl_seconds / 4
        self._instance = uuid.uuid4().hex[:16]
        # Bounded waits: a Redis that stops answering must not hold up handshakes.
        self._redis = connect(url, f"{prefix}-presence", socket_timeout=5, socket_connect_timeout=5)
        self._join = self._redis.register_script(_JOIN)
        self._leave = self._redis.register_script(_LEAVE)
        self._online = self._redis.register_script(_ONLINE)
        self._sweep = self._redis.register_script(_SWEEP)

    async def connect(self) -> None:
        await self._redis.ping()

    async def disconnect(self) -> None:
        await self._redis.aclose()

    def _keys(self, room_id: int) -> list[str]:
        members = f"{self._prefix}{room_id}"
        return [members, f"{members}:users", self._rooms_key]

    async def join(self, room_id: int, user_id: int, user_json: bytes) -> bool:
        args: list[bytes | str | int | float] = [user_id, self._instance, user_json, self._ttl, room_id]
        return bool(await self._join(keys=self._keys(room_id), args=args))

    async def leave(self, room_id: int, user_id: int) -> bytes | None:
        user: bytes | None = await self._leave(keys=self._keys(room_id), args=[user_id, self._instance, room_id])
        return user

    async def online(self, room_id: int) -> list[bytes]:
        return list(await self._online(keys=self._keys(room_id)[:2]))

    async def allow_typing(self, room_id: int, user_id: int) -> bool:
        key = self._typing_key(room_id, user_id)
        return bool(await self._redis.set(key, b"1", nx=True, px=TYPING_THROTTLE_MS))

    def _typing_key(self, room_id: int, user_id: int) -> str:
        return f"{self._typing_prefix}{room_id}:{user_id}"

    async def refresh(self, entries: Sequence[Entry]) -> list[Change]:
        if not entries:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id, user_id, user_json in entries:
                args: list[bytes | str | int | float] = [user_id, self._instance, user_json, self._ttl, room_id]
                await self._join(keys=self._keys(room_id), args=args, client=pipe)  # type: ignore[arg-type]  # a pipeline runs it
            added = await pipe.execute()
        return [entry for entry, new in zip(entries, added, strict=True) if new]

    async def sweep(self) -> list[Change]:
        flat = await self._sweep(keys=[self._rooms_key], args=[self._prefix])
        return [(int(flat[i]), int(flat[i + 1]), flat[i + 2]) for i in range(0, len(flat), 3)]
