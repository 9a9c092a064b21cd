// The Vercel AI SDK app of the real-instrumentation harness: the Node.js twin of tests/support/app_driver.py.
//
// `streamText` against the scripted stream server (OpenAI chat completions through @ai-sdk/openai), inside a
// `harness.scenario` parent span, exported by the real OTel JS SDK over OTLP/HTTP protobuf. It writes the same
// result JSON as tests/support/instrumented_run.py: the app's own clock (client events), the parent span's ids and
// the server's records. Each package folder (vercel6/, vercel7/) has its own pinned node_modules and hands its
// modules in, so this file imports only Node's own.
//
// Client events: create_called (streamText called), chunk_received (a part that a provider chunk produced:
// start-step for the first chunk, then every text / tool-input delta), stream_finished, stream_closed (the app
// aborted after `close_after` chunks), exception (an error part), each with `attempt`.

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

const CLIENT_KEYS = new Set(['stream', 'include_usage', 'max_tokens', 'close_after', 'app_retries',
  'sdk_max_retries', 'tools', 'model', 'prompt', 'name']);
const CHUNK_PARTS = new Set(['start-step', 'text-delta', 'tool-input-delta', 'reasoning-delta']);

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  return args;
}

// The clock the OTel JS SDK stamps spans with (timeOrigin + now), in unix ns.
function nowNs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

function sortedJson(value) {
  return JSON.stringify(Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]])));
}

export async function run(deps) {
  const args = parseArgs(process.argv.slice(2));
  const scenario = JSON.parse(args.scenario || '{}');
  scenario.key ??= `run-${Math.random().toString(16).slice(2, 14)}`;
  const client = {}; const server = {};
  for (const [k, v] of Object.entries(scenario)) (CLIENT_KEYS.has(k) ? client : server)[k] = v;
  if (server.tool_call && client.tools === undefined) client.tools = true;

  const provider = setupTracing(deps.otel, args['otlp-http'], `tokenstream-harness-${args.instr}`);
  const tracer = deps.api.trace.getTracer('tokenstream.tests.harness');
  const events = [];
  const log = (event, fields = {}) => events.push({ t_unix_nano: nowNs(), event, ...fields });
  const openai = deps.createOpenAI({ baseURL: args['base-url'], apiKey: 'sk-test' });
  const request = {
    model: openai.chat(client.model ?? 'gpt-4o-mini'),
    temperature: 0.2,
    maxOutputTokens: client.max_tokens === undefined ? 64 : client.max_tokens,
    maxRetries: client.sdk_max_retries ?? 2,
    system: 'You are terse.',
    messages: [{ role: 'user', content: client.prompt ?? 'Explain token streaming in one sentence.' }],
    headers: { 'X-Scenario': sortedJson(server) },
    ...deps.telemetryOptions,
  };
  if (client.tools) {
    request.tools = { get_weather: deps.tool({ description: 'Weather for a place',
      inputSchema: deps.z.object({ location: deps.z.string() }) }) };
  }

  log('scenario_start', { scenario: client.name ?? 'scenario' });
  let ids;
  await tracer.startActiveSpan('harness.scenario', async (parent) => {
    parent.setAttribute('harness.scenario', client.name ?? 'scenario');
    for (let attempt = 1; attempt <= (client.app_retries ?? 0) + 1; attempt++) {
      if (await attemptOnce(deps, request, client, log, attempt)) break;
    }
    ids = parent.spanContext();
    parent.end();
  });
  log('scenario_end');
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.HARNESS_SETTLE_MS ?? 0)));
  let flushed = true;
  try {
    await provider.forceFlush();
    await provider.shutdown();
  } catch (error) {
    flushed = false;
  }
  const records = await (await fetch(`${args['base-url'].replace(/\/$/, '')}/_records?key=${scenario.key}`)).json();
  const result = { instrumentation: args.instr, scenario, key: scenario.key, trace_id: ids.traceId,
    parent_span_id: ids.spanId, flushed, client_events: events, server_records: records,
    versions: { node: process.versions.node, ...versions(deps.root, deps.versioned) } };
  await writeFile(args.out, JSON.stringify(result, null, 1));
}

/** The real OTel JS SDK: a NodeTracerProvider exporting OTLP/HTTP protobuf to the receiver. */
function setupTracing(otel, otlpHttp, serviceName) {
  const provider = new otel.NodeTracerProvider({
    resource: otel.resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new otel.BatchSpanProcessor(new otel.OTLPTraceExporter({ url: `${otlpHttp}/v1/traces` }))],
  });
  provider.register();
  return provider;
}

function versions(root, names) {
  const read = (name) => JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, root), 'utf8')).version;
  return Object.fromEntries(names.map((name) => [name, read(name)]));
}

/** One streamText call read to its end; true when it finished (no error part), so no app-level retry follows. */
async function attemptOnce(deps, request, client, log, attempt) {
  const abort = new AbortController();
  log('create_called', { attempt });
  const result = deps.streamText({ ...request, abortSignal: abort.signal, onError: () => {} });
  let count = 0;
  const failed = (error) => {
    log('exception', { attempt, type: error?.name ?? 'Error', message: String(error?.message ?? error) });
    return false;
  };
  try {
    for await (const part of result.fullStream) {
      if (part.type === 'error') return failed(part.error);
      if (!CHUNK_PARTS.has(part.type)) continue;
      count += 1;
      log('chunk_received', { attempt, n: count, part: part.type, content: part.text ?? part.delta ?? null });
      if (client.close_after != null && count >= client.close_after) {
        abort.abort();
        log('stream_closed', { attempt, chunks: count });
        await drain(result);
        return true;
      }
    }
  } catch (error) {
    return failed(error); // the stream itself failed (a mid-body drop), not an error part
  }
  log('stream_finished', { attempt, chunks: count });
  return true;
}

/** After an abort the SDK still ends its spans; wait for the result to settle so that they are ended. */
async function drain(result) {
  try {
    await result.consumeStream?.();
  } catch { /* the abort itself */ }
  try {
    await result.text;
  } catch { /* aborted */ }
}
