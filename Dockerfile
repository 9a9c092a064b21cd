# tokenstream: slim Python, non-root, only what runs. Build: docker build -t tokenstream .
# Run:   docker run -p 4317:4317 -p 4318:4318 -p 9464:9464 -p 13133:13133 tokenstream run --config pipelines/gateway.yaml
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The C compiler builds the wire core (processor/wire/_core.pyx) here; the runtime stage gets no compiler.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/tokenstream
WORKDIR /src
COPY pyproject.toml README.md ./
COPY proto ./proto
COPY processor ./processor
RUN /opt/tokenstream/bin/pip install . \
 && /opt/tokenstream/bin/python -c 'from processor import wire; assert wire.IMPLEMENTATION == "native", wire.WHY' \
 && find /opt/tokenstream -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim
LABEL org.opencontainers.image.title="tokenstream" \
      org.opencontainers.image.description="Stream processor for LLM token-streaming telemetry" \
      org.opencontainers.image.licenses="Apache-2.0"
# A numeric user, so Kubernetes' runAsNonRoot can verify it; the chart runs it with a read-only root filesystem.
RUN groupadd --system --gid 10001 tokenstream \
 && useradd --system --uid 10001 --gid 10001 --home-dir /home/tokenstream --create-home tokenstream
COPY --from=build /opt/tokenstream /opt/tokenstream
COPY --chown=10001:10001 pipelines /home/tokenstream/pipelines
ENV PATH=/opt/tokenstream/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /home/tokenstream
USER 10001:10001
# OTLP gRPC, OTLP HTTP, Prometheus /metrics, health_check.
EXPOSE 4317 4318 9464 13133
ENTRYPOINT ["tokenstream"]
CMD ["run"]
