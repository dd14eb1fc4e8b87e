import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OpenAI-compatible chat-completions server (node:http) for tests and the annotate bench. It
 * enforces a key (401), a model name (404) and a body-size limit (413) like real servers, then lets the
 * test's handler answer: canned good answers, wrong phase words, malformed JSON, 429 / 5xx, slow replies.
 */
export interface FakeRequest {
  n: number;
  body: {
    model: string;
    messages: { role: string; content: string | { type: string; text?: string; image_url?: { url: string } }[] }[];
    response_format?: { type: string };
    max_tokens?: number;
  };
  prompt: string;
  images: string[];
  /** The phase the prompt assigns (single-frame prompts), or null. */
  phase: string | null;
  kind: 'single' | 'multi';
  strict: boolean;
  authorization: string | undefined;
  bytes: number;
}

export interface Reply {
  status?: number;
  /** The assistant message content (wrapped into a chat completion). */
  content?: string;
  /** A raw body instead of a chat completion. */
  raw?: string;
  delayMs?: number;
  headers?: Record<string, string>;
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
}

export type Handler = (req: FakeRequest) => Reply | Promise<Reply>;

export interface FakeVlmOptions {
  model?: string;
  apiKey?: string;
  maxBodyBytes?: number;
  /** Reject any request carrying response_format with a 400 (a server without JSON mode). */
  rejectResponseFormat?: boolean;
}

export interface FakeVlm {
  url: string;
  requests: FakeRequest[];
  statuses: number[];
  maxInFlight: number;
  close(): Promise<void>;
}

export function goodContent(req: FakeRequest): string {
  if (req.kind === 'multi') return JSON.stringify({ object: 'drawer-handle', direction: 'outward' });
  const p = req.phase ?? 'approaching';
  return JSON.stringify({ phase: p, description: `The robot gripper is ${p} near the object on the table. The object sits to the left of the gripper.` });
}

export const goodHandler: Handler = (req) => ({ content: goodContent(req) });

export async function startFakeVlm(handler: Handler = goodHandler, options: FakeVlmOptions = {}): Promise<FakeVlm> {
  const model = options.model ?? 'qwen2.5-vl-7b-instruct';
  const state = { requests: [] as FakeRequest[], statuses: [] as number[], inFlight: 0, maxInFlight: 0 };
  const server = http.createServer(async (req, res) => {
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      state.statuses.push(status);
      if (res.destroyed || res.writableEnded) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const raw = Buffer.concat(chunks);
      if (req.url !== '/v1/chat/completions') return send(404, JSON.stringify({ error: { message: `no route ${req.url}` } }));
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        return send(401, JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
      }
      if (options.maxBodyBytes && raw.length > options.maxBodyBytes) return send(413, JSON.stringify({ error: { message: 'Request Entity Too Large' } }));
      const body = JSON.parse(raw.toString('utf8')) as FakeRequest['body'];
      if (body.model !== model) return send(404, JSON.stringify({ error: { message: `The model \`${body.model}\` does not exist or you do not have access to it.`, code: 'model_not_found' } }));
      if (options.rejectResponseFormat && body.response_format) return send(400, JSON.stringify({ error: { message: `response_format ${body.response_format.type} is not supported` } }));
      const parts = body.messages.flatMap((m) => (typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content));
      const prompt = parts.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('\n');
      const images = parts.filter((p) => p.type === 'image_url').map((p) => p.image_url!.url);
      const phase = /assigned this frame the phase: (\S+)/.exec(prompt)?.[1] ?? /phase of this frame is FIXED to: (\S+)/.exec(prompt)?.[1] ?? null;
      const fr: FakeRequest = {
        n: state.requests.length,
        body,
        prompt,
        images,
        phase,
        kind: /operating" segment/.test(prompt) ? 'multi' : 'single',
        strict: /previous answer was rejected/.test(prompt),
        authorization: req.headers.authorization,
        bytes: raw.length,
      };
      state.requests.push(fr);
      const reply = await handler(fr);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      const status = reply.status ?? 200;
      if (reply.raw !== undefined || status !== 200) return send(status, reply.raw ?? JSON.stringify({ error: { message: `status ${status}` } }), reply.headers);
      const usage = reply.usage === undefined ? { prompt_tokens: 300 + 30 * images.length, completion_tokens: 60 } : reply.usage;
      send(
        200,
        JSON.stringify({
          id: `chatcmpl-${fr.n}`,
          object: 'chat.completion',
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply.content ?? goodContent(fr) }, finish_reason: 'stop' }],
          ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
        }),
        reply.headers,
      );
    } catch (err) {
      send(500, JSON.stringify({ error: { message: String(err) } }));
    } finally {
      state.inFlight--;
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    get statuses() {
      return state.statuses;
    },
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
