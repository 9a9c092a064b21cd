import pytest

from processor.testing.recorder import register_recorders


@pytest.fixture
def recorder_components(monkeypatch):
    return register_recorders(monkeypatch)
