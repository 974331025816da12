from __future__ import annotations

from service.replicas.lag import PrimaryPositions, lsn


def test_a_wal_position_is_one_number_in_order() -> None:
    assert lsn("0/16B3748") == 0x16B3748
    assert lsn("1/0") == 1 << 32
    assert lsn("1/0") > lsn("0/FFFFFFFF")


def test_a_replica_at_the_primary_position_is_not_behind_however_long_the_primary_is_idle() -> None:
    positions = PrimaryPositions(keep_seconds=10)
    positions.add(100, now=0.0)
    positions.add(100, now=500.0)
    assert positions.lag(100, now=1000.0) == 0.0


def test_a_replica_is_behind_by_the_time_since_the_primary_first_passed_its_position() -> None:
    positions = PrimaryPositions(keep_seconds=10)
    positions.add(100, now=0.0)
    positions.add(200, now=1.0)
    positions.add(300, now=2.0)
    assert positions.lag(150, now=3.0) == 2.0
    assert positions.lag(250, now=3.0) == 1.0
    assert positions.lag(300, now=3.0) == 0.0
