"""The six processors `stream` replaced are refused by `tokenstream validate` with one message that prints the
equivalent `stream:` block and each pipeline's new processors list; pasted in, it builds what the old config ran."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from processor.component import Kind
from processor.config.loader import load
from processor.config.types import ComponentID
from processor.config.validate import MAX_MESSAGE_CHARS, validate

ROOT = Path(__file__).resolve().parents[2]
OLD_DEFAULT = Path(__file__).with_name("old_default.yaml")
OLD_TYPES = ("stream_reconstruct", "cadence", "retry_detect", "truncation", "cost", "content_check")
PIPELINE_LINE = re.compile(r"and in service::pipelines::(\S+): processors: \[(.*)\]")


def tokenstream_validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "processor", "validate", "--config", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def errors_of(stderr: str) -> list[str]:
    """Each `error:` message with the lines that continue it (a migration message spans many)."""
    errors: list[str] = []
    for line in stderr.splitlines():
        if line.startswith("error: "):
            errors.append(line.removeprefix("error: "))
        elif errors and not line.startswith(("warning: ",)) and not line.endswith("problem(s) found"):
            errors[-1] += "\n" + line
    return errors


def printed_block(message: str) -> dict:
    """The indented `processors:` block a migration message prints."""
    return yaml.safe_load(textwrap.dedent("\n".join(line for line in message.splitlines() if line.startswith("    "))))


def pasted(document: dict, message: str) -> dict:
    """`document` with the printed block in place of its old stream processors and the printed pipeline lists."""
    lines = message.splitlines()
    block = printed_block(message)
    result = copy.deepcopy(document)
    result["processors"] = {key: body for key, body in document["processors"].items()
                            if key.partition("/")[0] not in OLD_TYPES}
    result["processors"].update(block["processors"])
    listed = [PIPELINE_LINE.fullmatch(line) for line in lines]
    for match in filter(None, listed):
        result["service"]["pipelines"][match[1]]["processors"] = match[2].split(", ")
    return result


def refused(tmp_path: Path, document: dict) -> str:
    """The one error `tokenstream validate` prints for `document`."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = tokenstream_validate(path)
    assert result.returncode == 1, result.stderr
    errors = errors_of(result.stderr)
    assert len(errors) == 1, result.stderr
    return errors[0]


def traces(*processors: str) -> dict:
    return {"receivers": {"otlp": {"protocols": {"grpc": {"endpoint": "127.0.0.1:4317"}}}},
            "exporters": {"debug": {}},
            "service": {"pipelines": {"traces": {"receivers": ["otlp"], "processors": list(processors),
                                                 "exporters": ["debug"]}}}}


@pytest.mark.parametrize("old", OLD_TYPES)
def test_each_old_type_is_refused_with_the_stream_block_that_replaces_it(tmp_path, old):
    document = {**traces(old, "batch"), "processors": {old: {}, "batch": {}}}
    message = refused(tmp_path, document)
    assert message.startswith("processors: the processors stream_reconstruct, cadence, retry_detect, truncation, "
                              "cost and content_check are now one processor, `stream`")
    assert '"The stream processor"' in message  # the README section it links to
    assert "unknown processor type" not in message
    assert message.splitlines()[-1] == "and in service::pipelines::traces: processors: [stream, batch]"
    config = validate(pasted(document, message))
    assert ComponentID("stream") in config.components[Kind.PROCESSOR]


def test_the_old_default_pipeline_becomes_the_shipped_default(tmp_path):
    """Pasted into the old default, the printed block and lists build exactly what pipelines/default.yaml builds."""
    result = tokenstream_validate(OLD_DEFAULT)
    assert result.returncode == 1
    errors = errors_of(result.stderr)
    assert len(errors) == 1, result.stderr  # no order errors about the stream the old pipelines lack
    message = errors[0]
    assert len(message) > MAX_MESSAGE_CHARS and "..." not in message  # a block to copy is never cut
    assert message.splitlines()[-2:] == [
        "and in service::pipelines::traces: processors: [memory_limiter, stream, slo, reconnect, feedback, "
        "trace_cost, redaction, batch]",
        "and in service::pipelines::logs: processors: [memory_limiter, stream, feedback, redaction, batch]"]

    new = validate(pasted(load([OLD_DEFAULT]), message))
    shipped = validate(load([ROOT / "pipelines" / "default.yaml"]))
    stream = new.components[Kind.PROCESSOR][ComponentID("stream")]
    assert stream == shipped.components[Kind.PROCESSOR][ComponentID("stream")]
    assert (stream.conventions, stream.wait, stream.cadence.stall_gap) == (["auto"], 5.0, 2.0)
    assert stream.cost.prices["openai/gpt-4o-mini"].output_per_million == 0.6
    assert stream.cost.prices["vllm/*"].input_per_million == 0.0
    assert None not in (stream.retries, stream.truncation, stream.content_check)
    assert new.components == shipped.components
    assert new.pipelines == shipped.pipelines


def test_a_config_with_only_stream_reconstruct_gets_the_other_sections_turned_off(tmp_path):
    """Its old pipeline derived nothing: the same config must not start deriving cadence, retries or costs."""
    settings = {"conventions": ["openllmetry"], "wait": "1s", "max_traces": 50, "route_keys": ["http.route"]}
    document = {**traces("stream_reconstruct"), "processors": {"stream_reconstruct": settings}}
    message = refused(tmp_path, document)
    off = dict.fromkeys(("cadence", "retries", "truncation", "cost", "content_check"), False)
    assert printed_block(message) == {"processors": {"stream": {**settings, **off}}}
    stream = validate(pasted(document, message)).components[Kind.PROCESSOR][ComponentID("stream")]
    assert (stream.cadence, stream.retries, stream.truncation, stream.cost, stream.content_check) == (None,) * 5
    assert (stream.conventions, stream.wait, stream.max_traces, stream.route_keys) == (
        ["openllmetry"], 1.0, 50, ["http.route"])


def test_named_ids_map_to_the_stream_processor_of_the_same_name(tmp_path):
    document = {**traces("memory_limiter", "stream_reconstruct/edge", "cadence/edge", "retry_detect/edge",
                         "cost/edge", "batch"),
                "processors": {"memory_limiter": {"limit_mib": 100}, "stream_reconstruct/edge": {"wait": "2s"},
                               "cadence/edge": {"stall_gap": "3s", "stall_factor": 4},
                               "retry_detect/edge": {"window": "30s"},
                               "cost/edge": {"prices": {"openai/*": {"input_per_million": 1,
                                                                     "output_per_million": 2}}},
                               "batch": {}}}
    message = refused(tmp_path, document)
    assert message.splitlines()[-1] == \
        "and in service::pipelines::traces: processors: [memory_limiter, stream/edge, batch]"
    config = validate(pasted(document, message))
    assert [cid for cid in config.components[Kind.PROCESSOR] if cid.type == "stream"] == [ComponentID("stream", "edge")]
    stream = config.components[Kind.PROCESSOR][ComponentID("stream", "edge")]
    assert (stream.wait, stream.cadence.stall_gap, stream.cadence.stall_factor, stream.retries.window) == (
        2.0, 3.0, 4.0, 30.0)
    assert stream.cost.prices["openai/*"].output_per_million == 2.0
    assert (stream.truncation, stream.content_check) == (None, None)  # the old pipeline had neither
