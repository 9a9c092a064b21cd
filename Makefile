# Two set-up commands for a newcomer: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= pipelines/default.yaml

IMAGE ?= localhost/tokenstream:dev

.PHONY: run test reliability lint bench proto image image-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/tokenstream run --config $(CONFIG)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check processor tests bench deploy
	$(BIN)/python -m pytest -q -m "not slow and not image" $(PYTEST_ARGS)

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

# Generated code is committed; tests/model/test_proto_fresh.py fails when it no longer matches the .proto.
proto: $(VENV)/.installed-dev
	$(BIN)/python -m grpc_tools.protoc -Iproto --python_out=processor/model/gen --pyi_out=processor/model/gen \
		proto/tokenstream/v1/stream.proto

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info .cache tests/support/node/*/node_modules
