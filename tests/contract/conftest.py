from tests.realtime.conftest import make_server, server  # noqa: F401 - the live server fixtures
