import { afterEach, describe, expect, it } from 'vitest';
import { userMessage, VlmClient, type VlmClientOptions } from '../../../electron/engine/annotate/client.js';
import { Limiter } from '../../../electron/engine/annotate/limiter.js';
import { LabError } from '../../../electron/engine/errors.js';
import { encodePngRgb, pngDataUrl } from '../../../electron/engine/util/png.js';
import { startFakeVlm, type FakeVlm, type Handler } from '../../../electron/cli/bench/fixtures/fake-vlm.js';

// The real client (fetch, retries, limiter) against a local OpenAI-compatible server; nothing mocked.
const KEY = 'sk-test-0123456789abcdef';
let server: FakeVlm | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const png = pngDataUrl(encodePngRgb(new Uint8Array(4 * 4 * 3).fill(128), 4, 4));
const msg = () => [userMessage('Describe: the robot has been assigned this frame the phase: grasping', [png, png])];

async function setup(handler: Handler, opts: Partial<VlmClientOptions> = {}, serverOpts: Parameters<typeof startFakeVlm>[1] = {}) {
  server = await startFakeVlm(handler, { apiKey: KEY, ...serverOpts });
  return new VlmClient({ baseUrl: server.url, model: 'qwen2.5-vl-7b-instruct', apiKey: KEY, backoffBaseMs: 5, backoffMaxMs: 50, timeoutMs: 2000, ...opts });
}

async function remoteError(p: Promise<unknown>): Promise<LabError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  return err as LabError;
}

describe('VlmClient against a local OpenAI-compatible server', () => {
  it('sends images as data URLs with the key and a JSON schema, and returns content and usage', async () => {
    const client = await setup(() => ({ content: '{"phase":"grasping","description":"x"}', usage: { prompt_tokens: 123, completion_tokens: 45 } }));
    const r = await client.chat({ messages: msg(), schema: { name: 's', schema: { type: 'object' } } });
    expect(r).toMatchObject({ content: '{"phase":"grasping","description":"x"}', usage: { promptTokens: 123, completionTokens: 45 }, attempts: 1, responseFormat: 'json_schema', usageReported: true });
    const req = server!.requests[0];
    expect(req.authorization).toBe(`Bearer ${KEY}`);
    expect(req.images).toHaveLength(2);
    expect(req.images[0]).toMatch(/^data:image\/png;base64,/);
    expect(Buffer.from(req.images[0].split(',')[1], 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(req.body.response_format?.type).toBe('json_schema');
  });

  it('retries 429 (honouring Retry-After) and 5xx, then succeeds', async () => {
    let n = 0;
    const client = await setup(() => (n++ === 0 ? { status: 429, headers: { 'retry-after': '0' } } : n === 2 ? { status: 503 } : { content: 'ok' }));
    const r = await client.chat({ messages: msg() });
    expect(r.content).toBe('ok');
    expect(r.attempts).toBe(3);
    expect(server!.statuses).toEqual([429, 503, 200]);
  });

  it('times out a slow response and retries it', async () => {
    let n = 0;
    const client = await setup(() => (n++ === 0 ? { delayMs: 1500, content: 'late' } : { content: 'fast' }), { timeoutMs: 300 });
    const r = await client.chat({ messages: msg() });
    expect(r.content).toBe('fast');
    expect(r.attempts).toBeGreaterThanOrEqual(2);
  });

  it('gives up after maxRetries with a timeout error', async () => {
    const client = await setup(() => ({ delayMs: 400 }), { timeoutMs: 100, maxRetries: 1 });
    const err = await remoteError(client.chat({ messages: msg() }));
    expect(err.code).toBe('REMOTE_ERROR');
    expect(err.details).toMatchObject({ kind: 'timeout', attempts: 2 });
  });

  it('does not retry 401 and never leaks the key', async () => {
    server = await startFakeVlm(undefined, { apiKey: 'the-right-key' });
    const client = new VlmClient({ baseUrl: server.url, model: 'qwen2.5-vl-7b-instruct', apiKey: KEY, backoffBaseMs: 5 });
    const err = await remoteError(client.chat({ messages: msg() }));
    expect(err.details).toMatchObject({ kind: 'auth', status: 401, attempts: 1 });
    expect(server.requests).toHaveLength(0);
    expect(server.statuses).toEqual([401]);
    const everything = JSON.stringify({ message: err.message, stack: err.stack, details: err.details, opts: client.options, client }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
    expect(everything).not.toContain(KEY);
    expect(client.redact(`Authorization: Bearer ${KEY} and ${KEY}`)).toBe('Authorization: Bearer [redacted] and [redacted]');
  });

  it('takes the key from VLA_AD_VLM_API_KEY when none is passed', async () => {
    server = await startFakeVlm(undefined, { apiKey: KEY });
    process.env.VLA_AD_VLM_API_KEY = KEY;
    try {
      const client = new VlmClient({ baseUrl: server.url, model: 'qwen2.5-vl-7b-instruct' });
      expect((await client.chat({ messages: msg() })).attempts).toBe(1);
    } finally {
      delete process.env.VLA_AD_VLM_API_KEY;
    }
  });

  it('reports an unknown model (404) and an oversized request (413) without retrying', async () => {
    const client = await setup(() => ({ content: 'x' }), { model: 'qwen-nonexistent' });
    const err = await remoteError(client.chat({ messages: msg() }));
    expect(err.details).toMatchObject({ kind: 'config', reason: 'model_not_found', status: 404, attempts: 1, endpoint: { baseUrl: server!.url, model: 'qwen-nonexistent' } });
    expect(err.message).toMatch(/qwen-nonexistent/);
    await server!.close();

    const small = await setup(() => ({ content: 'x' }), {}, { maxBodyBytes: 200 });
    const big = await remoteError(small.chat({ messages: msg() }));
    expect(big.details).toMatchObject({ kind: 'too_large', status: 413, attempts: 1 });
  });

  it('falls back from json_schema to json_object to none when the server rejects response_format', async () => {
    const client = await setup(() => ({ content: 'plain' }), {}, { rejectResponseFormat: true });
    const r = await client.chat({ messages: msg(), schema: { name: 's', schema: {} } });
    expect(r).toMatchObject({ content: 'plain', responseFormat: 'none' });
    expect(server!.statuses).toEqual([400, 400, 200]);
    await client.chat({ messages: msg() }); // remembered: no more 400s
    expect(server!.statuses).toEqual([400, 400, 200, 200]);
  });

  it('retries a 200 whose body is not a chat completion once, then reports bad_response', async () => {
    const client = await setup(() => ({ raw: '<html>proxy error</html>' }), { maxRetries: 2 });
    const err = await remoteError(client.chat({ messages: msg() }));
    expect(err.details).toMatchObject({ kind: 'bad_response', attempts: 2 });
  });

  it('reports an unreachable endpoint', async () => {
    const s = await startFakeVlm();
    const url = s.url;
    await s.close();
    const client = new VlmClient({ baseUrl: url, model: 'm', maxRetries: 1, backoffBaseMs: 1 });
    const err = await remoteError(client.chat({ messages: msg() }));
    expect(err.details).toMatchObject({ kind: 'unreachable', attempts: 2 });
  });

  it('bounds concurrency and spaces request starts by the rate limit', async () => {
    const client = await setup(() => ({ content: 'x', delayMs: 30 }), { concurrency: 3 });
    await Promise.all(Array.from({ length: 12 }, () => client.chat({ messages: msg() })));
    expect(server!.maxInFlight).toBeLessThanOrEqual(3);
    expect(server!.maxInFlight).toBeGreaterThan(1);
    await server!.close();

    // Rate: the limiter spaces starts 60 000 / rpm ms apart (measured where the limiter acts: the client
    // side; server arrival times also carry connection set-up jitter).
    const limiter = new Limiter(4, 1200); // one start per 50 ms
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 4 }, () => limiter.run(async () => void starts.push(performance.now()))));
    expect(starts[3] - starts[0]).toBeGreaterThanOrEqual(3 * 50 - 5); // a lower bound: the limiter cannot be faster
  });

  it('stops on abort with CANCELLED', async () => {
    const client = await setup(() => ({ content: 'x', delayMs: 500 }));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await remoteError(client.chat({ messages: msg(), signal: ac.signal }));
    expect(err.code).toBe('CANCELLED');
  });
});
