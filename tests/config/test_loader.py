import pytest

from processor.config.loader import LoadError, deep_merge, expand_env, load
from processor.config.types import parse_duration, parse_endpoint, parse_size


def test_env_references_expand_with_defaults_and_whole_values_keep_their_type():
    env = {"BROKERS": "127.0.0.1:9092", "PORT": "4317"}
    doc = {"a": "${env:BROKERS}", "b": "${env:MISSING:-fallback}", "c": "${env:PORT}", "d": "host:${env:PORT}",
           "e": ["${env:MISSING}"], "f": "${env:MISSING:-}"}
    assert expand_env(doc, env) == {"a": "127.0.0.1:9092", "b": "fallback", "c": 4317, "d": "host:4317",
                                    "e": [""], "f": ""}


def test_files_deep_merge_and_set_overrides_win(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("processors:\n  stream:\n    wait: 5s\n    cadence: {stall_gap: 2s, stall_factor: 4}\n"
                    "  batch: {}\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text("processors:\n  stream:\n    cadence: {stall_gap: 3s}\n")
    merged = load([base, extra], ["processors.batch.timeout=1s", "processors.stream.content_check=false",
                                  "service.telemetry.metrics.level=none"])
    assert merged == {"processors": {"stream": {"wait": "5s", "cadence": {"stall_gap": "3s", "stall_factor": 4},
                                                "content_check": False},
                                     "batch": {"timeout": "1s"}},
                      "service": {"telemetry": {"metrics": {"level": "none"}}}}


def test_deep_merge_replaces_lists():
    assert deep_merge({"a": [1, 2], "b": {"c": 1}}, {"a": [3]}) == {"a": [3], "b": {"c": 1}}


@pytest.mark.parametrize("text, problem", [
    ("receivers: [unclosed", "not valid YAML at line [12]"),  # where the list began (Python) or should close (LibYAML)
    ("- a list\n- at the top", "the top level must be a mapping"),
])
def test_unreadable_files_name_the_file_and_the_problem(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(LoadError, match=problem) as info:
        load([path])
    assert str(path) in str(info.value)


def test_missing_file_and_bad_set_are_load_errors(tmp_path):
    with pytest.raises(LoadError, match="cannot read config"):
        load([tmp_path / "nope.yaml"])
    with pytest.raises(LoadError, match="expected key.path=value"):
        load([], ["no-equals-sign"])


@pytest.mark.parametrize("text, seconds", [("2s", 2.0), ("500ms", 0.5), ("1.5m", 90.0), ("1h", 3600.0), (3, 3.0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text, size", [("64MiB", 64 * 2**20), ("512KB", 512_000), ("1GiB", 2**30), (100, 100)])
def test_sizes(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["2x", "fast", True, -1])
def test_bad_durations_say_what_a_duration_looks_like(bad):
    with pytest.raises(ValueError, match="duration|negative"):
        parse_duration(bad)


def test_endpoints():
    assert parse_endpoint("127.0.0.1:4317") == "127.0.0.1:4317"
    assert parse_endpoint(":4317") == "0.0.0.0:4317"
    with pytest.raises(ValueError, match="not an endpoint"):
        parse_endpoint("localhost")
