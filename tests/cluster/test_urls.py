"""CHAT_REDIS_URL naming a Redis Cluster (docs/operations.md, "On a Redis Cluster")."""

from __future__ import annotations

import pytest

from service.redis_client import ClusterUrl, is_cluster, parse_cluster, shown


def test_a_cluster_url_names_its_nodes_and_credentials() -> None:
    assert is_cluster("redis+cluster://a:7000") and not is_cluster("redis://a:6379/0")
    assert parse_cluster("redis+cluster://a:7000, b.internal:7001") == ClusterUrl(
        (("a", 7000), ("b.internal", 7001)), None, None
    )
    assert parse_cluster("redis+cluster://chat:s%40cret@a:7000,[::1]:7001/0") == ClusterUrl(
        (("a", 7000), ("::1", 7001)), "chat", "s@cret"
    )


@pytest.mark.parametrize("url", ["redis+cluster://a", "redis+cluster://a:x", "redis+cluster://:7000", "redis://a:1"])
def test_a_malformed_cluster_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_cluster(url)


def test_a_password_is_hidden_when_the_url_is_shown() -> None:
    assert shown("redis+cluster://chat:secret@a:7000,b:7001") == "redis+cluster://chat:***@a:7000,b:7001"
    assert shown("redis://:secret@a:6379/0") == "redis://:***@a:6379/0"
    assert shown("redis+cluster://a:7000") == "redis+cluster://a:7000"
