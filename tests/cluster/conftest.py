"""The scale-out tests' environment on a Redis Cluster: three masters and three
replicas of this machine's `redis-server`, started once per test module."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.nodes import ClusterUnavailable, LocalCluster
from tests.conftest import TABLES, ServiceProcess, _pg, service_env


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[LocalCluster]:
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


@pytest.fixture
def cluster_env(postgres_url: str, redis_cluster: LocalCluster) -> dict[str, str]:
    """As tests/scale's, with CHAT_REDIS_URL naming the cluster."""
    _pg(postgres_url.replace("+asyncpg", ""), f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    return service_env(
        postgres_url,
        CHAT_REDIS_URL=redis_cluster.url,
        CHAT_REDIS_PREFIX=f"chat-test-{uuid.uuid4().hex[:8]}",
        CHAT_RATE_PER_SECOND="1000",
        CHAT_RATE_BURST="1000",
        CHAT_AUTO_MIGRATE="false",
    )


@pytest.fixture
def two(cluster_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    with ServiceProcess(cluster_env, tmp_path) as a, ServiceProcess(cluster_env, tmp_path) as b:
        yield a, b
