"""The scale-out tests' environment on a Redis Cluster: three masters and three
replicas of this machine's `redis-server`, started once per test session (a module
whose tests kill nodes starts its own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.nodes import ClusterUnavailable, LocalCluster
from tests.conftest import ServiceProcess, service_env
from tests.scale.conftest import emptied, instances


def started_cluster() -> Iterator[LocalCluster]:
    """A new cluster, stopped afterwards; skipped (failed under CI) where none can be started."""
    try:
        cluster = LocalCluster().start()
    except ClusterUnavailable as exc:
        reason = f"a Redis Cluster cannot be started here ({exc})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(reason)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """Shared by the session's tests, each under a key prefix of its own."""
    yield from started_cluster()


def on_cluster_env(postgres_url: str, redis_cluster: LocalCluster) -> dict[str, str]:
    return service_env(
        postgres_url,
        CHAT_REDIS_URL=redis_cluster.url,
        CHAT_REDIS_PREFIX=f"chat-test-{uuid.uuid4().hex[:8]}",
        CHAT_RATE_PER_SECOND="1000",
        CHAT_RATE_BURST="1000",
        CHAT_AUTO_MIGRATE="false",
    )


@pytest.fixture
def cluster_env(postgres_url: str, redis_cluster: LocalCluster) -> dict[str, str]:
    """As tests/scale's, with CHAT_REDIS_URL naming the cluster."""
    emptied(postgres_url)
    return on_cluster_env(postgres_url, redis_cluster)


@pytest.fixture
def two(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    with instances(cluster_env, tmp_path) as pair:
        yield pair


@pytest.fixture(scope="module")
def shared_two(
    postgres_url: str, redis_cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """As tests/scale's: shared by the module's tests that leave the instances as they are."""
    with instances(on_cluster_env(postgres_url, redis_cluster), tmp_path_factory.mktemp("two")) as pair:
        yield pair
