"""Which Redis CHAT_REDIS_URL names, and a client for it.

`redis://` and `rediss://` name one Redis (a standalone server, or the master of
a Sentinel-managed pair behind one address). `redis+cluster://[user:password@]
host:port[,host:port...]` names a Redis Cluster by some of its nodes: the client
(redis-py's `RedisCluster`) reads the slot map from the first that answers and
follows it, so one reachable node is enough to start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import redis
import redis.asyncio as aioredis
import redis.cluster
from redis.asyncio.cluster import ClusterNode, RedisCluster

CLUSTER_SCHEME = "redis+cluster"
SLOTS = 16384

# Either client: both take the commands, scripts and pipelines the service sends.
AnyRedis = aioredis.Redis | RedisCluster


@dataclass(frozen=True)
class ClusterUrl:
    nodes: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None


def is_cluster(url: str) -> bool:
    return url.partition("://")[0].lower() == CLUSTER_SCHEME


def parse_cluster(url: str) -> ClusterUrl:
    """The nodes and credentials of a `redis+cluster://` URL; ValueError when malformed."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != CLUSTER_SCHEME:
        raise ValueError(f"not a {CLUSTER_SCHEME}:// URL")
    rest = rest.split("/", 1)[0].split("?", 1)[0]  # a database is meaningless on a cluster
    credentials, at, hosts = rest.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = []
    for address in hosts.split(","):
        host, colon, port = address.strip().rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(f"a cluster node must be host:port, not {address!r}")
        nodes.append((host.strip("[]"), int(port)))
    return ClusterUrl(tuple(nodes), username, password)


def shown(url: str) -> str:
    """The URL for a log line, its password hidden."""
    scheme, sep, rest = url.partition("://")
    credentials, at, hosts = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.partition(':')[0]}:***@{hosts}"


def connect(url: str, client_name: str, **options: Any) -> AnyRedis:
    """A client for `url` (nothing is sent yet). `options` are redis-py's
    connection options (timeouts), the same for either kind."""
    if not is_cluster(url):
        return aioredis.Redis.from_url(url, client_name=client_name, **options)
    parsed = parse_cluster(url)
    return RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in parsed.nodes],
        username=parsed.username,
        password=parsed.password,
        client_name=client_name,
        **options,
    )


def ping_once(url: str) -> None:
    """Whether `url` answers, blocking (for the command line, before the loop
    starts): ValueError when malformed, RedisError or OSError when it does not."""
    client: redis.Redis | redis.cluster.RedisCluster
    if is_cluster(url):
        parsed = parse_cluster(url)
        client = redis.cluster.RedisCluster(  # reads the slot map here: raises if no node answers
            startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in parsed.nodes],  # type: ignore[no-untyped-call]
            username=parsed.username,
            password=parsed.password,
            socket_connect_timeout=5,
            socket_timeout=5,
        )
    else:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    finally:
        client.close()


async def cluster_problem(client: RedisCluster) -> str | None:
    """Why the cluster cannot serve every key (a slot uncovered, cluster_state
    not ok, as the node asked reports it), or None."""
    info = await client.cluster_info(target_nodes=RedisCluster.RANDOM)
    state = str(info.get("cluster_state", "unknown"))
    covered = int(info.get("cluster_slots_ok", 0) or 0)
    if state != "ok":
        return f"cluster_state {state}"
    if covered < SLOTS:
        return f"{SLOTS - covered} of {SLOTS} slots not served"
    return None
