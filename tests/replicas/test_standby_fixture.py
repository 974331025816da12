from __future__ import annotations

from tests.replicas.standby import Standby


async def test_the_replica_is_a_hot_standby_of_the_primary(standby: Standby) -> None:
    assert await standby.sql("SELECT pg_is_in_recovery()") is True
