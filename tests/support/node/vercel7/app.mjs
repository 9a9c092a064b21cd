// Vercel AI SDK 7 app of the harness (see ../harness.mjs): this folder's pinned modules, handed to the shared driver.
//   node app.mjs --instr vercel7 --scenario '{}' --otlp-http http://127.0.0.1:4318 --base-url http://.../v1 --out r.json
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

import { createOpenAI } from '@ai-sdk/openai';
import * as api from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import * as ai from 'ai';
import { z } from 'zod';

import { run } from '../harness.mjs';

function setupTracing(otlpHttp, serviceName) {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${otlpHttp}/v1/traces` }))],
  });
  provider.register();
  return provider;
}

function version(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}
import { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';

// AI SDK 7: telemetry comes from a registered integration: OpenTelemetry (gen_ai.* spans) or, for vercel7_legacy,
// LegacyOpenTelemetry (the ai.* spans of AI SDK 6).
const legacy = process.argv.includes('vercel7_legacy');
ai.registerTelemetry(legacy ? new LegacyOpenTelemetry() : new OpenTelemetry());

await run({
  api, createOpenAI, streamText: ai.streamText, tool: ai.tool, z, setupTracing, writeFile,
  telemetryOptions: { telemetry: { functionId: 'harness' } },
  versions: Object.fromEntries(['ai', '@ai-sdk/openai', '@ai-sdk/otel', '@opentelemetry/sdk-trace-node']
    .map((n) => [n, version(n)])),
});
