"""Who has a socket open in which room, across instances: one small interface
with an in-process and a Redis implementation, chosen by CHAT_REDIS_URL."""

from service.presence.store import MemoryPresence, PresenceStore

__all__ = ["MemoryPresence", "PresenceStore", "create_presence"]


def create_presence(redis_url: str | None, prefix: str, ttl_seconds: float) -> PresenceStore:
    if not redis_url:
        return MemoryPresence()
    from service.redis_client import is_cluster

    if is_cluster(redis_url):
        from service.presence.redis_cluster import ClusterPresence

        return ClusterPresence(redis_url, prefix, ttl_seconds)
    from service.presence.redis import RedisPresence

    return RedisPresence(redis_url, prefix, ttl_seconds)
