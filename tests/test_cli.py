"""The command line as a user types it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SIX_MISTAKES = textwrap.dedent("""\
    receivers:
      otlp:
        protocols:
          grpc: {endpoint: "127.0.0.1:4317"}
    processors:
      batch: {timeout: 2x, send_batch_sise: 10}
      memory_limiter: {}
    exporters:
      kafak: {}
      file: {path: out.jsonl}
    extensions:
      health_check: {endpoint: "127.0.0.1:8888"}
    service:
      extensions: [health_check]
      pipelines:
        traces:
          receivers: [otlp]
          processors: [memory_limiter, batch/slow]
          exporters: [file]
        logs:
          receivers: [otlp]
""")


def tokenstream(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True, text=True, timeout=60)


def test_validate_lists_every_mistake_with_its_path_and_exits_1(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SIX_MISTAKES)
    result = tokenstream("validate", "--config", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    expected = [
        'processors::batch::timeout: "2x" is not a duration (e.g. 2s, 500ms)',
        'processors::batch::send_batch_sise: unknown key "send_batch_sise"; did you mean "send_batch_size"?',
        "processors::memory_limiter",  # limit_mib is required
        'exporters::kafak: unknown exporter type "kafak"; did you mean "kafka"?',
        'service::pipelines::traces: references processor "batch/slow" which is not configured',
        "service::pipelines::logs: has no exporters",
        "extensions::health_check::endpoint: port 8888 (127.0.0.1:8888) is already claimed by "
        "service::telemetry::metrics::address",
    ]
    for line in expected:
        assert any(line in error for error in errors), f"missing: {line}\n{result.stderr}"
    assert len(errors) >= 7
    assert f"{len(errors)} problem(s) found" in result.stderr


GOOD = textwrap.dedent("""\
    receivers:
      otlp:
        protocols:
          grpc: {endpoint: "127.0.0.1:4317"}
    processors:
      batch: {timeout: 2s}
      memory_limiter: {limit_mib: 256}
    exporters:
      debug: {}
      file: {path: out.jsonl}
    extensions:
      health_check: {endpoint: "127.0.0.1:13133"}
    service:
      extensions: [health_check]
      pipelines:
        traces:
          receivers: [otlp]
          processors: [memory_limiter, batch]
          exporters: [file]
        logs:
          receivers: [otlp]
          exporters: [debug]
""")


def validate_text(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    """`tokenstream validate` on a config file holding `text`."""
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return tokenstream("validate", "--config", str(path))


def test_validate_accepts_a_good_config_and_names_it(tmp_path):
    result = validate_text(tmp_path, GOOD)
    assert result.returncode == 0, result.stderr
    assert "valid (2 pipeline(s))" in result.stdout


def test_set_overrides_and_unreadable_files_are_reported_without_a_traceback(tmp_path):
    result = tokenstream("validate", "--config", str(tmp_path / "missing.yaml"))
    assert result.returncode == 1 and "cannot read config" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("kind, types", [
    ("receivers", ["otlp"]),
    ("processors", ["batch", "memory_limiter"]),
    ("exporters", ["debug", "file"]),
    ("extensions", ["health_check"]),
])
def test_components_lists_every_registered_type(kind, types):
    result = tokenstream("components")
    assert result.returncode == 0
    section = result.stdout.split(f"{kind}:\n", 1)[1]
    listed = [line.split()[0] for line in section.splitlines() if line.startswith("  ")]
    for type_ in types:
        assert type_ in listed


def test_python_dash_m_and_the_console_script_are_the_same_program():
    console_script = Path(sys.executable).parent / "tokenstream"
    script = subprocess.run([str(console_script), "components"], capture_output=True, text=True, timeout=60)
    assert script.stdout == tokenstream("components").stdout


def test_a_config_file_over_the_size_limit_is_refused_before_it_is_parsed(tmp_path):
    """Before: a 100 MB config took 78 s and 1.06 GiB to parse, then blamed YAML aliases it did not have."""
    path = tmp_path / "huge.yaml"
    with path.open("w") as file:  # a valid price table, no aliases: just too big to be a pipeline (2 MiB)
        file.write("processors:\n  stream:\n    cost:\n      prices:\n")
        line = "        m{:09d}: {{input_per_million: 1.0, output_per_million: 2.0}}\n"
        for index in range((2 << 20) // len(line.format(0))):
            file.write(line.format(index))
    result = tokenstream("validate", "--config", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{path}: the file is larger than 1 MiB, the most a config file may be" in result.stderr
    assert "alias" not in result.stderr


def test_a_huge_value_is_quoted_by_a_short_prefix_in_every_message(tmp_path):
    """Before: a long value was printed back whole, once per message that named it."""
    long = "9" * 200_000
    path = tmp_path / "long.yaml"
    path.write_text(textwrap.dedent(f"""\
        receivers:
          otlp:
            protocols:
              grpc:
                endpoint: "127.0.0.1:{long}"
        processors:
          batch:
            timeout: "{long}x"
            ? "{long}"
            : 1
          ? stream/{long}
          : {{}}
        exporters:
          debug: {{}}
        service:
          pipelines:
            traces: {{receivers: [otlp], processors: [batch, "batch/{long}"], exporters: [debug]}}
        """))
    result = tokenstream("validate", "--config", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) >= 5 and all(len(line) < 400 for line in lines), max(lines, key=len)[:400]
    assert "999999999" in result.stderr and "(200000 characters)" in result.stderr


STREAM_ORDER = textwrap.dedent("""\
    receivers:
      otlp:
        protocols:
          grpc: {endpoint: "127.0.0.1:4317"}
    processors:
      stream: {}
      slo: {}
      batch: {}
    exporters:
      debug: {}
    service:
      pipelines:
        traces:
          receivers: [otlp]
          processors: [slo, stream]
          exporters: [debug]
        traces/nostream:
          receivers: [otlp]
          processors: [slo]
          exporters: [debug]
""")


def test_a_processor_needing_stream_records_before_or_without_stream_is_refused_with_the_fix(tmp_path):
    """Placed there it would see no stream record and silently do nothing."""
    result = validate_text(tmp_path, STREAM_ORDER)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        'error: service::pipelines::traces::processors: processor "slo" works on the stream records the stream '
        "processor emits, but no stream processor comes before it; list stream first, e.g. "
        "processors: [memory_limiter, stream, slo, ...]",
        'error: service::pipelines::traces/nostream::processors: processor "slo" works on the stream records the '
        "stream processor emits, but this pipeline has no stream processor; list stream first, e.g. "
        "processors: [memory_limiter, stream, slo, ...]",
    ], result.stderr
    # A batch before stream loses nothing (stream reads whatever was merged into the batch it is given).
    fixed = STREAM_ORDER.replace("[slo, stream]", "[batch, stream, slo]") \
        .replace("processors: [slo]", "processors: [stream, slo]")
    assert validate_text(tmp_path, fixed).returncode == 0


def test_a_stream_processor_with_refused_settings_still_counts_in_the_order_check(tmp_path):
    """Its own error is the one to fix: slo after it is not also reported as missing its stream processor, and slo
    before it still is."""
    text = STREAM_ORDER.replace("stream: {}", "stream: {wait: soon}")
    errors = [line for line in validate_text(tmp_path, text).stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, errors
    assert errors[0].startswith("error: processors::stream::wait:"), errors
    assert "no stream processor comes before it" in errors[1] and "this pipeline has no stream processor" in errors[2]
    errors = [line for line in validate_text(tmp_path, text.replace("[slo, stream]", "[stream, slo]"))
              .stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2 and "comes before it" not in errors[1], errors
