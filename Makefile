# Two set-up commands for a newcomer: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= pipelines/default.yaml

IMAGE ?= localhost/tokenstream:dev

.PHONY: run test test-reference reliability lint bench proto image image-test clean fuzz sanitize golden

# The compiled modules (wire core, Kafka routing, cadence math): a change to their Cython sources reinstalls (pip
# compiles them with the machine's C compiler).
WIRE_CORE := processor/wire/_core.pyx $(wildcard processor/wire/*.pxi) processor/kafka/_route.pyx \
	processor/stream/_cadence.pyx
FUZZ_TARGETS := scan by_trace select drop add redact
FUZZ_SECONDS ?= 100

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(WIRE_CORE) | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(WIRE_CORE) | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/tokenstream run --config $(CONFIG)

test: $(VENV)/.installed-dev
	@$(BIN)/python -c 'from processor import wire; assert wire.IMPLEMENTATION == "native", wire.WHY' \
		|| { echo "the compiled wire core did not build: README, Prerequisites (gcc, Python headers)"; exit 1; }
	@$(BIN)/python -c 'from processor.kafka import route; assert route.IMPLEMENTATION == "native"' \
		|| { echo "the compiled Kafka loops did not build: README, Prerequisites (gcc, Python headers)"; exit 1; }
	@$(BIN)/python -c 'from processor.stream import cadence_math; assert cadence_math.IMPLEMENTATION == "native"' \
		|| { echo "the compiled cadence math did not build: README, Prerequisites (gcc, Python headers)"; exit 1; }
	$(BIN)/ruff check processor tests bench deploy
	$(BIN)/python -m pytest -q -m "not slow and not image" $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-reference

# The stream, receiver and exporter tests again on the wire core's pure-Python reference (the path that runs without
# a C compiler): both paths must give the same outputs.
REFERENCE_TESTS := tests/model tests/stream tests/processors tests/receivers tests/exporters tests/kafka tests/golden
test-reference: $(VENV)/.installed-dev
	TOKENSTREAM_PURE_PYTHON=1 $(BIN)/python -m pytest -q -m "not slow and not image" $(REFERENCE_TESTS) $(PYTEST_ARGS)

# Re-records tests/data/golden (tests/golden): what the default pipeline's processors make of every real capture.
# Only for an intended change of what users see; commit the data with that change.
golden: $(VENV)/.installed-dev
	$(BIN)/python -m tests.golden.record

# The container image with no network: local Debian bases (mmdebstrap) and a host-built wheelhouse (podman, runc).
image: | $(BIN)/python
	$(BIN)/python -m deploy.image.build --tag $(IMAGE)

# Builds that image from the Dockerfile and runs it as the Helm chart does (tests/image); prints its size.
image-test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -s -m image tests/image $(PYTEST_ARGS)

# The full-size reliability scenarios (tests/reliability, marked slow), figures printed; writes docs/reliability.md.
reliability: $(VENV)/.installed-dev
	rm -f test-artifacts/reliability-rows.jsonl
	TOKENSTREAM_RELIABILITY=full $(BIN)/python -m pytest -q -s -m slow -rxX tests/reliability $(PYTEST_ARGS)
	TOKENSTREAM_FULL=1 $(BIN)/python -m pytest -q -s tests/hardening $(PYTEST_ARGS)
	$(BIN)/python -m tests.reliability.report

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.throughput

# Coverage-guided differential fuzzing of the wire core (atheris): each target FUZZ_SECONDS (6 x 100 s = 10 min),
# corpus kept in build/fuzz/corpus/<target>, crashes in build/fuzz/crashes. Then `make sanitize` replays it.
fuzz: $(VENV)/.installed-dev
	mkdir -p build/fuzz/crashes
	$(BIN)/python -c 'from pathlib import Path; from tests.wire.fuzz_wire import seed_corpus; \
		[seed_corpus(Path("build/fuzz/corpus") / t) for t in "$(FUZZ_TARGETS)".split()]'
	for target in $(FUZZ_TARGETS); do \
		$(BIN)/python -m tests.wire.fuzz_wire $$target build/fuzz/corpus/$$target -max_total_time=$(FUZZ_SECONDS) \
			-max_len=16384 -timeout=20 -rss_limit_mb=4096 -artifact_prefix=build/fuzz/crashes/$$target- \
			-print_final_stats=1 > build/fuzz/$$target.log 2>&1 || { tail -60 build/fuzz/$$target.log; exit 1; }; \
		echo "$$target:"; grep -E "DONE|^Done|stat::(number_of_executed_units|peak_rss)" build/fuzz/$$target.log; \
	done

# The wire core rebuilt with AddressSanitizer + UBSan: the wire tests (400 examples per property) and the fuzz corpus.
sanitize: $(VENV)/.installed-dev
	tests/wire/sanitize.sh

# Generated code is committed; tests/model/test_proto_fresh.py fails when it no longer matches the .proto.
proto: $(VENV)/.installed-dev
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=processor/model/gen --pyi_out=processor/model/gen \
		proto/tokenstream/v1/stream.proto

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info .cache tests/support/node/*/node_modules processor/wire/_core.c \
		processor/wire/_core*.so processor/kafka/_route.c processor/kafka/_route*.so \
		processor/stream/_cadence.c processor/stream/_cadence*.so
