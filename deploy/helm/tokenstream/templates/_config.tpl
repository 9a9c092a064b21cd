{{/*
The pipeline: .Values.config deep-merged over the chart default. The default is pipelines/default.yaml
(pipelines/sidecar.yaml in sidecar mode) with Kafka taken from .Values.kafka; tests/deploy keeps them in step.
With .Values.otlp.endpoint set, an otlp exporter forwards the enriched spans (as pipelines/gateway.yaml does with
OTLP_ENDPOINT) and, with otlp.metrics, the stream_metrics connector feeds a metrics pipeline into it.
*/}}
{{- define "tokenstream.defaultConfig" -}}
{{- $sidecar := eq .Values.mode "sidecar" }}
{{- $otlp := .Values.otlp.endpoint }}
{{- $queue := and .Values.persistence.enabled (eq .Values.mode "statefulset") }}
receivers:
  otlp:
    protocols:
      {{- /* In a sidecar only the gateway beside it, over localhost, may send. */}}
      grpc: {endpoint: {{ ternary "127.0.0.1" "0.0.0.0" $sidecar }}:4317}
      http: {endpoint: {{ ternary "127.0.0.1" "0.0.0.0" $sidecar }}:4318}
processors:
  memory_limiter: {limit_mib: {{ ternary 200 400 $sidecar }}}
  # Reads each streamed LLM call once and derives its stream record; every section is optional (`false` turns one
  # off, e.g. config.processors.stream.content_check: false).
  stream:
    conventions: [auto]
    wait: 5s
    cadence: {stall_gap: 2s}
    retries: {}
    truncation: {}
    cost:
      prices:  # USD per million tokens; add your models through config.processors.stream.cost.prices
        openai/gpt-4o-mini: {input_per_million: 0.15, output_per_million: 0.6}
        openai/gpt-4.1: {input_per_million: 2.0, output_per_million: 8.0}
        anthropic/claude-sonnet-4: {input_per_million: 3.0, output_per_million: 15.0}
        anthropic/claude-haiku-4: {input_per_million: 1.0, output_per_million: 5.0}
        vllm/*: {input_per_million: 0.0, output_per_million: 0.0}
    # Flags a stream whose chunks do not add up to the completion its span recorded (offsets and hashes only).
    content_check: {}
  slo: {default_p95_ttft: 2s, window: 5m, min_streams: 20}
  reconnect: {reconnect_window: 30s}
  feedback: {}
  trace_cost: {wait: 10s}
  # Prompt and completion content in every convention, and the request headers OpenLLMetry leaks into
  # gen_ai.headers, are dropped before anything leaves.
  redaction: {}
  # Each request is held until its batch is delivered (wait_for_delivery): a short timeout keeps receipt-to-ack low.
  batch: {timeout: 20ms}
exporters:
  kafka:
    brokers: {{ toJson .Values.kafka.brokers }}
    topics: {{ toJson .Values.kafka.topics }}
    {{- with .Values.kafka.auth }}
    {{- if .existingSecret }}
    sasl:
      mechanism: {{ .mechanism }}
      username: ${env:KAFKA_SASL_USERNAME}
      password: ${env:KAFKA_SASL_PASSWORD}
    {{- end }}
    {{- end }}
    {{- if $queue }}
    sending_queue:
      storage: {directory: {{ .Values.persistence.mountPath }}/queue}
    {{- end }}
  prometheus:
    endpoint: 0.0.0.0:9464
  {{- if $otlp }}
  otlp:
    endpoint: {{ toJson $otlp }}
    tls: {insecure: {{ .Values.otlp.insecure }}}
    {{- with .Values.otlp.headers }}
    headers: {{ toJson . }}
    {{- end }}
    {{- if $queue }}
    sending_queue:
      storage: {directory: {{ .Values.persistence.mountPath }}/queue}
    {{- end }}
{{- if .Values.otlp.metrics }}
connectors:
  # The prometheus exporter's stream metrics, as OTLP metrics for the metrics pipeline below.
  stream_metrics: {}
{{- end }}
  {{- end }}
extensions:
  health_check: {endpoint: 0.0.0.0:13133}
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, stream, slo, reconnect, feedback, trace_cost, redaction, batch]
      exporters: [kafka, prometheus{{ if $otlp }}, otlp{{ if .Values.otlp.metrics }}, stream_metrics{{ end }}{{ end }}]
    {{- if and $otlp .Values.otlp.metrics }}
    metrics:
      receivers: [stream_metrics]
      exporters: [otlp]
    {{- end }}
{{- end }}

{{- define "tokenstream.config" -}}
{{- $config := mustMergeOverwrite (include "tokenstream.defaultConfig" . | fromYaml) .Values.config }}
{{- include "tokenstream.dropNulls" $config }}
{{- $exporters := get $config "exporters" | default dict }}
{{- $kafka := get $exporters "kafka" }}
{{- if and $kafka (empty (get $kafka "brokers")) }}
{{- fail "kafka.brokers is empty: set it to your Kafka bootstrap servers, e.g. --set 'kafka.brokers={kafka.kafka:9092}' (or drop the kafka exporter through config)" }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* `key: null` in config removes that key from the default, as in Helm values. */}}
{{- define "tokenstream.dropNulls" -}}
{{- $map := . }}
{{- range $key, $value := $map }}
{{- if kindIs "invalid" $value }}
{{- $_ := unset $map $key }}
{{- else if kindIs "map" $value }}
{{- include "tokenstream.dropNulls" $value }}
{{- end }}
{{- end }}
{{- end }}
