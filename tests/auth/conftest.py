from __future__ import annotations

import pytest

from service.config import Settings
from tests.conftest import make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Registration and login as in production: these tests time and hold the real argon2id hash."""
    return make_settings(database_url, production_hashing=True)
