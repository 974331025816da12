"""Fan-out between instances: one small interface, chosen by CHAT_REDIS_URL."""

from service.realtime.broker.base import Broker
from service.realtime.broker.memory import MemoryBroker

__all__ = ["Broker", "MemoryBroker", "create_broker"]


def create_broker(redis_url: str | None, prefix: str) -> Broker:
    if not redis_url:
        return MemoryBroker()
    from service.realtime.broker.redis import RedisBroker

    return RedisBroker(redis_url, prefix)
