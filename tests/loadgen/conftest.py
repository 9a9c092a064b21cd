from tests.e2e.conftest import ports, tokenstream  # noqa: F401 - the same running tokenstream fixtures
