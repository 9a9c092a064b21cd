# tokenstream: built in one stage (a C compiler and Python's headers compile whatever extension the package has),
# shipped in another on a slim Python with no compiler, as non-root user 10001.
#   docker build -t tokenstream .          (or podman build; bases python:3.11 and python:3.11-slim, wheels from PyPI)
#   make image                             (offline: local Debian bases and a host-built wheelhouse, see README)
# BUILD_BASE and BASE must have the same Python at the same path: the virtualenv is copied from one to the other.
ARG BUILD_BASE=python:3.11
ARG BASE=python:3.11-slim

FROM ${BUILD_BASE} AS build
# WHEELS_ONLY=1: install from deploy/image/wheelhouse alone (make image fills it); empty: PyPI for what it lacks.
ARG WHEELS_ONLY=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_FIND_LINKS=/wheels
COPY deploy/image/wheelhouse /wheels
RUN python3 -m venv /opt/tokenstream
WORKDIR /src
COPY pyproject.toml README.md ./
COPY proto ./proto
COPY processor ./processor
# The wheel is built here, against this stage's Python headers; pip's build isolation takes the build-system
# requirements from the wheelhouse too. The installed package is checked to run its compiled modules from / (in /src
# the source tree, which has no extension, would be imported instead). pip itself is left behind.
RUN if [ -n "$WHEELS_ONLY" ]; then export PIP_NO_INDEX=1; fi \
 && /opt/tokenstream/bin/pip wheel --no-deps --wheel-dir /dist . \
 && /opt/tokenstream/bin/pip install /dist/tokenstream-*.whl \
 && (cd / && /opt/tokenstream/bin/python -c 'from processor import wire; assert wire.IMPLEMENTATION == "native", wire.WHY' \
      && /opt/tokenstream/bin/python -c 'from processor.kafka import route; assert route.IMPLEMENTATION == "native"' \
      && /opt/tokenstream/bin/python -c 'from processor.stream import cadence_math as c; assert c.IMPLEMENTATION == "native"') \
 && /opt/tokenstream/bin/pip uninstall --yes pip setuptools \
 && find /opt/tokenstream -name '__pycache__' -prune -exec rm -rf {} +

FROM ${BASE}
LABEL org.opencontainers.image.title="tokenstream" \
      org.opencontainers.image.description="Stream processor for LLM token-streaming telemetry" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric user, so Kubernetes' runAsNonRoot can verify it; the chart runs it with a read-only root filesystem.
RUN groupadd --system --gid 10001 tokenstream \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/tokenstream --create-home tokenstream
COPY --from=build /opt/tokenstream /opt/tokenstream
COPY pipelines /home/tokenstream/pipelines
# The only writable place the chart gives the container is /tmp (an emptyDir): the default pipeline's files go there.
ENV PATH=/opt/tokenstream/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 TOKENSTREAM_DATA_DIR=/tmp/tokenstream
WORKDIR /home/tokenstream
USER 10001:10001
# OTLP gRPC, OTLP HTTP, Prometheus /metrics, health_check.
EXPOSE 4317 4318 9464 13133
ENTRYPOINT ["tokenstream"]
CMD ["run"]
