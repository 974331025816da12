"""The argon2id cost: the settings refuse less than the floor, and production hashes at it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from service.auth.models import User
from service.auth.security import PasswordHasher
from service.config import MIN_ARGON2_MEMORY_KIB, MIN_ARGON2_TIME_COST, Settings
from tests.conftest import CHEAP_HASHING, PASSWORD, TEST_KEY, Api

FLOOR = f"$argon2id$v=19$m={MIN_ARGON2_MEMORY_KIB},t={MIN_ARGON2_TIME_COST},p=1$"


def test_settings_refuse_the_cheap_cost_that_tests_of_other_things_hash_at() -> None:
    for name, value in CHEAP_HASHING.items():
        with pytest.raises(ValidationError, match=name):
            Settings(_env_file=None, secret_key=TEST_KEY, **{name: value})  # type: ignore[call-arg]


async def test_default_settings_hash_with_argon2id_at_the_floor() -> None:
    settings = Settings(_env_file=None, secret_key=TEST_KEY)  # type: ignore[call-arg]
    assert (await PasswordHasher(settings).hash(PASSWORD)).startswith(FLOOR)


async def test_registration_in_these_tests_hashes_at_the_floor(api: Api) -> None:
    user = await api.register("alice")
    async with api.state.sessionmaker() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == user["id"]))
    assert stored is not None and stored.startswith(FLOOR), stored
