from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.main import State
from service.messages.models import Message
from tests.conftest import Api


async def test_foreign_keys_are_enforced(state: State, api: Api) -> None:
    user = await api.register("alice")
    with pytest.raises(IntegrityError):
        async with state.sessionmaker() as session, session.begin():
            session.add(Message(room_id=999, seq=1, user_id=user["id"], body="orphan"))


async def test_sqlite_runs_in_wal_mode(state: State) -> None:
    if not state.settings.is_sqlite:
        pytest.skip("SQLite only")
    async with state.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA synchronous"))).scalar() == 2  # FULL: echoes survive power loss


async def test_postgresql_plans_are_not_compiled(state: State) -> None:
    # JIT compiling cost an unread listing 20-50 ms and saves nothing on queries this short.
    if state.settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    async with state.engine.connect() as conn:
        assert (await conn.execute(text("SHOW jit"))).scalar() == "off"


async def test_timestamps_come_back_timezone_aware_utc(state: State, api: Api) -> None:
    from service.auth.models import User

    created = await api.register("alice")
    async with state.sessionmaker() as session:
        user = await session.get(User, created["id"])
    assert user is not None and user.created_at.tzinfo is UTC
