"""The live server of tests/realtime (a real uvicorn and real clients) for the message tests too."""

from tests.realtime.conftest import make_server, server  # noqa: F401
