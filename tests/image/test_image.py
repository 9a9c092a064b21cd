"""The image as a Kubernetes user gets it: built from the committed Dockerfile, run with the chart's pod settings."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.image.container import Container, NotHealthy
from tests.image.images import BUDGET_MB, ROOT, PodmanError, bases, build, config, podman, size_mb, with_change
from tests.image.pod import ChartPod

# The first test builds the image: minutes, and with no base made yet (mmdebstrap) several more.
pytestmark = [pytest.mark.image, pytest.mark.timeout(2400)]

# Every compiler and header a build could leave behind, looked for everywhere in the image.
_FIND_BUILD_TOOLS = r"""
for tool in cc gcc g++ c++ clang tcc cpp ld as make x86_64-linux-gnu-gcc-12 aarch64-linux-gnu-gcc-12; do
  command -v "$tool" || true
done
find / -xdev \( -name Python.h -o -name stdio.h -o -name 'cc1*' \) -print 2>/dev/null
"""
_SENT = re.compile(r"sent (\d+) streamed calls \((\d+) LLM spans, (\d+) spans")
_REFUSED_STREAMS = re.compile(r"refused: [1-9]\d* streams")
_BROKER = re.compile(r"started an embedded broker \(tansu, in memory\) at (127\.0\.0\.1:\d+)")
_TTFT_COUNT = re.compile(r"^gen_ai_server_time_to_first_token_seconds_count(?:\{[^}]*\})? (\S+)$", re.M)
_ACCEPTED = re.compile(r'^tokenstream_receiver_accepted_spans_total\{receiver="otlp",transport="grpc"\} (\S+)$', re.M)


@pytest.fixture(scope="module")
def chart_pod() -> ChartPod:
    return ChartPod.render()


def test_the_image_is_within_its_size_budget(image):
    size = size_mb(image)
    print(f"\nimage {image}: {size:.0f} MB (budget {BUDGET_MB} MB)")
    assert size < BUDGET_MB


def _build_tools(image: str) -> list[str]:
    # As root, so no folder is unreadable to the search.
    found = podman("run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh", image, "-c",
                   _FIND_BUILD_TOOLS)
    return found.stdout.split()


def test_the_image_ships_no_compiler_and_no_build_headers(image):
    assert _build_tools(image) == []
    # The same search finds them in the stage that compiled the package, so it would find any that leaked.
    in_build_stage = _build_tools(bases.BUILD.ref)
    assert "/usr/bin/gcc" in in_build_stage and any(p.endswith("/Python.h") for p in in_build_stage)


def test_the_package_runs_its_compiled_extensions(image):
    """Each Cython module in the source is compiled in the image, and is what the package imports."""
    sources = sorted((ROOT / "processor").rglob("*.pyx"))
    expected = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in sources)
    script = (Path(__file__).parent / "inspect_package.py").read_text()
    found = json.loads(podman("run", "--rm", "--interactive", "--network", "none", "--entrypoint", "python", image,
                              "-", *expected, stdin=script).stdout)
    assert all(path.endswith(".so") for path in found["files"].values()), found["files"]
    assert sorted(p.split(".", 1)[0].replace("/", ".") for p in found["compiled"]) == expected, found["compiled"]
    if (ROOT / "processor" / "wire").is_dir():
        assert found["wire"] == "native", found
    assert found["pure_python_forced"] is None


def test_the_image_user_is_the_numeric_one_the_chart_runs_as(image, chart_pod):
    user = config(image)["User"]
    assert user == f"{chart_pod.container['securityContext']['runAsUser']}:" \
                   f"{chart_pod.container['securityContext']['runAsGroup']}"


@pytest.mark.parametrize("command", ["image-default", "chart"])
def test_it_runs_the_way_the_chart_runs_it(image, chart_pod, tmp_path, command):
    """Default command or the chart's `run --config` on its ConfigMap; read-only root, the chart's volumes, user,
    capabilities and memory limit; probed, loaded, read and stopped from outside as a kubelet and an operator would."""
    name = f"tokenstream-image-test-{command}"
    args = [] if command == "image-default" else chart_pod.container["args"]
    container = Container.start(image, name, chart_pod.podman_options(tmp_path, name), args)
    try:
        path, port = chart_pod.probe()
        took = container.wait_healthy(f"http://127.0.0.1:{port}{path}", within=30)
        print(f"\n{command}: health 200 after {took:.1f}s")

        uid = chart_pod.container["securityContext"]["runAsUser"]
        assert container.exec("id", "-u").stdout.strip() == str(uid)
        refused = container.exec("touch", "/home/tokenstream/pipelines/x", check=False)
        assert refused.returncode != 0 and "Read-only file system" in refused.stderr

        sent = container.exec("tokenstream", "loadgen", "--endpoint", "127.0.0.1:4317", "--rate", "20",
                              "--duration", "3s", "--seed", "18", timeout=120).stdout
        calls, llm_spans, spans = map(int, _SENT.search(sent).groups())
        # The chart's pipeline has no logs pipeline, so its receiver refuses loadgen's log records: no stream lost.
        assert calls > 0 and _REFUSED_STREAMS.search(sent) is None, sent

        ttft = _wait_for_ttft(container, f"http://127.0.0.1:{chart_pod.port('metrics')}/metrics")
        _, self_metrics = container.get("http://127.0.0.1:8888/metrics")
        assert float(_ACCEPTED.search(self_metrics).group(1)) == spans

        bootstrap = _BROKER.search(container.logs()).group(1)
        topics = json.loads(container.exec("python", "-", bootstrap, "llm.spans", "llm.streams",
                                           stdin=(Path(__file__).parent / "read_topics.py").read_text()).stdout)
        assert topics["llm.spans"]["spans"] == spans, topics["llm.spans"]
        stream_ids = topics["llm.streams"]["span_ids"]
        # One record per LLM span (a retried call has several), each with a TTFT unless no chunk ever came.
        assert ttft <= len(stream_ids) == len(set(stream_ids)) <= llm_spans, (ttft, stream_ids, llm_spans)
        if command == "image-default":  # its file exporters write where the image points TOKENSTREAM_DATA_DIR
            written = container.exec("sh", "-c", 'wc -l < "$TOKENSTREAM_DATA_DIR/streams.jsonl"').stdout
            assert int(written) == len(stream_ids)

        # Stopped with work in hand: a second burst is acknowledged, its streams still held open.
        container.exec("tokenstream", "loadgen", "--endpoint", "127.0.0.1:4317", "--duration", "1s", "--seed", "19",
                       timeout=120)
        code, stopped_in = container.stop(chart_pod.grace_seconds)
        print(f"{command}: {calls} calls, {spans} spans, {len(stream_ids)} stream records, {ttft:.0f} TTFTs; "
              f"stopped with {code} in {stopped_in:.1f}s (grace {chart_pod.grace_seconds}s)")
        logs = container.logs()
        assert code == 0 and stopped_in < chart_pod.grace_seconds, logs[-3000:]
        assert "received SIGTERM: draining" in logs and "stopped exporter kafka" in logs, logs[-3000:]
        assert "not acknowledged" not in logs and "downstream refused" not in logs, logs[-3000:]
    finally:
        container.remove()


def _wait_for_ttft(container: Container, url: str, within: float = 45) -> float:
    """TTFT observations, once they stop growing: the stream processor holds a stream a few seconds for late spans."""
    deadline, seen = time.monotonic() + within, []
    while True:
        _, text = container.get(url)
        seen.append((time.monotonic(), sum(float(count) for count in _TTFT_COUNT.findall(text))))
        settled = [count for at, count in seen if at >= seen[-1][0] - 3]
        if seen[-1][1] > 0 and seen[-1][0] - seen[0][0] >= 3 and min(settled) == max(settled):
            return seen[-1][1]
        assert time.monotonic() < deadline, f"TTFT observations did not settle in {within}s: {seen}\n{text[-2000:]}"
        time.sleep(1)


@pytest.mark.parametrize("old, new, symptom", [
    ("COPY processor ./processor", "COPY processors ./processor",
     r'STEP "COPY processors \./processor".*no such file or directory'),
    # A missing runtime dependency: the package without the libraries it imports.
    ("pip install /dist/tokenstream-*.whl", "pip install --no-deps /dist/tokenstream-*.whl",
     "ModuleNotFoundError: No module named"),
], ids=["wrong-copy-path", "missing-runtime-dependency"])
def test_a_broken_dockerfile_fails_these_checks(image, chart_pod, tmp_path, old, new, symptom):
    tag = "localhost/tokenstream:image-test-broken"
    try:
        with pytest.raises((PodmanError, NotHealthy), match=symptom):
            build(tag, with_change(tmp_path, old, new))
            container = Container.start(tag, "tokenstream-image-test-broken", chart_pod.podman_options(tmp_path, "x"),
                                        [])
            try:
                path, port = chart_pod.probe()
                container.wait_healthy(f"http://127.0.0.1:{port}{path}", within=30)
            finally:
                container.remove()
    finally:
        podman("rmi", "--force", tag, check=False)
