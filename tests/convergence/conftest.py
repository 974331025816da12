"""The live server of tests/realtime (a real uvicorn and real clients) for the convergence test."""

from tests.realtime.conftest import make_server  # noqa: F401
