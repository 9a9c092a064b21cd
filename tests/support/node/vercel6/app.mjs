// Vercel AI SDK 6 app of the harness (see ../harness.mjs): this folder's pinned modules, handed to the shared driver.
//   node app.mjs --instr vercel6 --scenario '{}' --otlp-http http://127.0.0.1:4318 --base-url http://.../v1 --out r.json
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

await run({
  api, createOpenAI, streamText: ai.streamText, tool: ai.tool, z, otel, root,
  // AI SDK 6: telemetry is opt-in per call.
  telemetryOptions: { experimental_telemetry: { isEnabled: true, functionId: 'harness' } },
  versioned: ['ai', '@ai-sdk/openai', '@opentelemetry/sdk-trace-node'],
});
