// Vercel AI SDK 7 app of the harness (see ../harness.mjs): this folder's pinned modules, handed to the shared driver.
//   node app.mjs --instr vercel7|vercel7_legacy --scenario '{}' --otlp-http http://127.0.0.1:4318 --base-url ... --out r.json
import { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';
import { createOpenAI } from '@ai-sdk/openai';
import * as api from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import * as ai from 'ai';
import { z } from 'zod';

import { run } from '../harness.mjs';

const otel = { NodeTracerProvider, BatchSpanProcessor, OTLPTraceExporter, resourceFromAttributes };
const root = new URL('.', import.meta.url);

// AI SDK 7: telemetry comes from a registered integration: OpenTelemetry (gen_ai.* spans) or, for vercel7_legacy,
// LegacyOpenTelemetry (the ai.* spans of AI SDK 6).
const legacy = process.argv.includes('vercel7_legacy');
ai.registerTelemetry(legacy ? new LegacyOpenTelemetry() : new OpenTelemetry());

await run({
  api, createOpenAI, streamText: ai.streamText, tool: ai.tool, z, otel, root,
  telemetryOptions: { telemetry: { functionId: 'harness' } },
  versioned: ['ai', '@ai-sdk/openai', '@ai-sdk/otel', '@opentelemetry/sdk-trace-node'],
});
