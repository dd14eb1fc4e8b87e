import { z } from 'zod';
import { LabError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { cancelled, Limiter, sleep } from './limiter.js';

/**
 * OpenAI-compatible chat-completions client over fetch (DashScope compatible mode for Qwen2.5-VL, vLLM,
 * Ollama, LM Studio). Images travel as base64 data URLs, several per message. JSON answers are requested
 * with `response_format` (json_schema, else json_object); a server that answers 400 to it is asked again
 * without it, and the client remembers the downgrade.
 *
 * Reliability: every attempt goes through a concurrency + rate limiter; 429, 5xx, timeouts and network
 * errors are retried with exponential backoff and seeded jitter (Retry-After is honoured up to the cap);
 * a 2xx body that is not a chat completion (garbage) is retried once; 400/401/403/404/413 are not.
 * Failures are LabError('REMOTE_ERROR') with `details.kind` (see VlmErrorKind), `details.status` and
 * `details.endpoint` ({baseUrl, model}: never the key). `auth` (401/403) and `config` (404, or a 400
 * saying the model is unknown) are endpoint-level errors: every further request would fail the same way,
 * so callers stop at the first one (`isEndpointError`).
 *
 * The API key comes from the caller or $VLA_AD_VLM_API_KEY; it is only ever written into the
 * Authorization header, and every error message or detail is passed through `redact` first.
 */

export type ContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string | ContentPart[];
}

export type ResponseFormatMode = 'json_schema' | 'json_object' | 'none';

export type VlmErrorKind =
  | 'unreachable' // connection refused / DNS / reset
  | 'timeout' // no complete answer within timeoutMs
  | 'rate_limited' // 429
  | 'server' // 5xx
  | 'bad_response' // 2xx with a body that is not a chat completion
  | 'auth' // 401 / 403: wrong or missing key
  | 'config' // 404 (wrong base URL or model), or a 400 saying the model is unknown: details.reason
  | 'too_large' // 413: request (images) over the server's limit
  | 'bad_request'; // other 4xx

export const RETRYABLE: ReadonlySet<VlmErrorKind> = new Set(['unreachable', 'timeout', 'rate_limited', 'server', 'bad_response']);

/** Errors of the endpoint itself (key, base URL, model): no request can succeed, so annotation stops at the first. */
export const ENDPOINT_ERRORS: ReadonlySet<VlmErrorKind> = new Set(['auth', 'config']);

/** True for a REMOTE_ERROR whose kind is `auth` or `config`. */
export function isEndpointError(err: unknown): err is LabError {
  return err instanceof LabError && err.code === 'REMOTE_ERROR' && ENDPOINT_ERRORS.has(err.details.kind as VlmErrorKind);
}

/** `reason` of a `config` error: the model is unknown, or the route (base URL) does not exist. */
export type VlmConfigReason = 'model_not_found' | 'not_found';

/** A 4xx body that says the model is unknown (OpenAI, DashScope, vLLM, Ollama, LM Studio wordings). */
const MODEL_UNKNOWN =
  /model_not_found|model_not_exist|invalid_model|unknown[ _-]model\b|invalid model name|no such model|model\b[^.\n]{0,80}?\b(?:not found|does not exist|doesn't exist|not exist|is unknown)/i;

/** The base URL as it may be shown: no user:password, no query string or fragment (either could hold a key). */
export function displayBaseUrl(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/+$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export const VlmClientOptionsSchema = z.object({
  baseUrl: z.string().url(),
  model: z.string().min(1),
  /** Defaults to $VLA_AD_VLM_API_KEY; local servers need none. */
  apiKey: z.string().optional(),
  timeoutMs: z.number().positive().default(60_000),
  maxRetries: z.number().int().min(0).default(4),
  backoffBaseMs: z.number().nonnegative().default(500),
  backoffMaxMs: z.number().nonnegative().default(30_000),
  concurrency: z.number().int().min(1).default(16),
  requestsPerMinute: z.number().positive().optional(),
  responseFormat: z.enum(['json_schema', 'json_object', 'none']).default('json_schema'),
  maxTokens: z.number().int().positive().default(300),
  temperature: z.number().min(0).max(2).default(0),
  /** Seed of the backoff jitter. */
  seed: z.number().default(0),
  /** Retries of a 2xx answer that is not a chat completion (garbage): once, then the request fails. */
  maxBadResponseRetries: z.number().int().min(0).default(1),
});
export type VlmClientOptions = z.input<typeof VlmClientOptionsSchema>;

const ChatResponse = z.object({
  model: z.string().optional(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable().optional() }), finish_reason: z.string().nullable().optional() }))
    .min(1),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).optional(),
});

export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface ChatResult {
  content: string;
  usage: ChatUsage;
  /** True when the server reported token usage (else usage is zero). */
  usageReported: boolean;
  model: string;
  attempts: number;
  responseFormat: ResponseFormatMode;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** JSON schema of the answer, for servers with structured outputs. */
  schema?: { name: string; schema: Record<string, unknown> };
  signal?: AbortSignal;
}

export class VlmClient {
  readonly options: z.output<typeof VlmClientOptionsSchema>;
  readonly limiter: Limiter;
  /** An ES private field: not enumerable, so JSON.stringify / structuredClone of the client never carry it. */
  readonly #apiKey: string | undefined;
  private format: ResponseFormatMode;
  private readonly rng: Rng;
  private readonly url: string;
  /** What errors name: the base URL (without credentials or query) and the model. */
  readonly endpoint: { baseUrl: string; model: string };

  constructor(options: VlmClientOptions) {
    const parsed = VlmClientOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      // Never echo the input: it may hold the key.
      throw new LabError('INVALID_INPUT', `VLM client options: ${issue.path.join('.')}: ${issue.message}`, { field: issue.path.join('.') });
    }
    const { apiKey, ...rest } = parsed.data;
    this.#apiKey = apiKey ?? process.env.VLA_AD_VLM_API_KEY ?? undefined;
    this.options = { ...rest, apiKey: undefined };
    this.format = rest.responseFormat;
    this.rng = new Rng(rest.seed).fork('vlm-backoff');
    this.limiter = new Limiter(rest.concurrency, rest.requestsPerMinute);
    this.url = rest.baseUrl.replace(/\/+$/, '') + '/chat/completions';
    this.endpoint = { baseUrl: displayBaseUrl(rest.baseUrl), model: rest.model };
  }

  /** "<base URL> (model <model>)", for messages. */
  get endpointText(): string {
    return `${this.endpoint.baseUrl} (model "${this.endpoint.model}")`;
  }

  get model(): string {
    return this.options.model;
  }

  /** The response_format the client currently sends (after any downgrade). */
  get responseFormat(): ResponseFormatMode {
    return this.format;
  }

  redact(text: string): string {
    let out = text.replace(/Bearer\s+[A-Za-z0-9._\-~+/=]+/g, 'Bearer [redacted]');
    if (this.#apiKey && this.#apiKey.length >= 4) out = out.split(this.#apiKey).join('[redacted]');
    return out;
  }

  private error(kind: VlmErrorKind, message: string, details: Record<string, unknown> = {}): LabError {
    const safe = Object.fromEntries(Object.entries(details).map(([k, v]) => [k, typeof v === 'string' ? this.redact(v) : v]));
    return new LabError('REMOTE_ERROR', this.redact(message), { kind, endpoint: { ...this.endpoint }, url: displayBaseUrl(this.url), model: this.model, ...safe });
  }

  private backoffMs(attempt: number, retryAfterS: number | null): number {
    const { backoffBaseMs: base, backoffMaxMs: cap } = this.options;
    const exp = Math.min(cap, base * 2 ** attempt);
    const jittered = exp * (0.5 + this.rng.next()); // "equal jitter": 0.5×–1.5× the exponential step
    return Math.min(cap, Math.max(jittered, retryAfterS !== null ? retryAfterS * 1000 : 0));
  }

  private body(req: ChatRequest, format: ResponseFormatMode): string {
    const body: Record<string, unknown> = {
      model: this.model,
      messages: req.messages,
      max_tokens: this.options.maxTokens,
      temperature: this.options.temperature,
    };
    if (format === 'json_schema' && req.schema) body.response_format = { type: 'json_schema', json_schema: { name: req.schema.name, strict: true, schema: req.schema.schema } };
    else if (format !== 'none') body.response_format = { type: 'json_object' };
    return JSON.stringify(body);
  }

  /** One chat completion, with retries. Throws LabError REMOTE_ERROR (details.kind) or CANCELLED. */
  async chat(req: ChatRequest): Promise<ChatResult> {
    let attempt = 0;
    for (;;) {
      if (req.signal?.aborted) throw cancelled();
      const format = this.format;
      try {
        const result = await this.limiter.run(() => this.attempt(req, format), req.signal);
        return { ...result, attempts: attempt + 1, responseFormat: format };
      } catch (err) {
        if (!(err instanceof LabError) || err.code !== 'REMOTE_ERROR') throw err;
        const kind = err.details.kind as VlmErrorKind;
        if (kind === 'bad_request' && format !== 'none') {
          // Servers without structured outputs reject response_format with a 400: step down and ask again.
          this.format = format === 'json_schema' ? 'json_object' : 'none';
          continue;
        }
        const limit = kind === 'bad_response' ? Math.min(this.options.maxRetries, this.options.maxBadResponseRetries) : this.options.maxRetries;
        if (!RETRYABLE.has(kind) || attempt >= limit) {
          err.details.attempts = attempt + 1;
          throw err;
        }
        await sleep(this.backoffMs(attempt, (err.details.retryAfterS as number | null) ?? null), req.signal);
        attempt++;
      }
    }
  }

  private async attempt(req: ChatRequest, format: ResponseFormatMode): Promise<Omit<ChatResult, 'attempts' | 'responseFormat'>> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#apiKey) headers.authorization = `Bearer ${this.#apiKey}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await fetch(this.url, { method: 'POST', headers, body: this.body(req, format), signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      if (req.signal?.aborted) throw cancelled();
      if (timeout.aborted) throw this.error('timeout', `VLM endpoint ${this.endpointText}: no answer within ${this.options.timeoutMs} ms (timeout)`, { timeoutMs: this.options.timeoutMs });
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw this.error('unreachable', `VLM endpoint ${this.endpointText} unreachable: ${cause?.code ?? cause?.message ?? (err as Error).message}`, { cause: cause?.code ?? String(err) });
    }
    const excerpt = text.slice(0, 500);
    if (status < 200 || status >= 300) {
      const retryAfterS = retryAfter !== null && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) : null;
      const modelUnknown = MODEL_UNKNOWN.test(excerpt);
      const kind: VlmErrorKind =
        status === 429
          ? 'rate_limited'
          : status >= 500
            ? 'server'
            : status === 401 || status === 403
              ? 'auth'
              : status === 404 || (status === 400 && modelUnknown)
                ? 'config'
                : status === 413
                  ? 'too_large'
                  : 'bad_request';
      const reason: VlmConfigReason | undefined = kind === 'config' ? (modelUnknown ? 'model_not_found' : 'not_found') : undefined;
      const what: Record<VlmErrorKind, string> = {
        rate_limited: 'rate limited (429)',
        server: `server error (${status})`,
        auth: `rejected the request with ${status}: authentication failed, check the API key${this.#apiKey ? '' : ' (none is set)'}`,
        config:
          reason === 'model_not_found'
            ? `answered ${status}: the model "${this.model}" is unknown there, check the model name`
            : `answered ${status}: POST ${displayBaseUrl(this.url)} not found, check the base URL (OpenAI-compatible servers serve <base>/chat/completions, the base usually ending in /v1) and the model`,
        too_large: 'request too large (413): the images exceed the server limit',
        bad_request: `bad request (${status})`,
        unreachable: '',
        timeout: '',
        bad_response: '',
      };
      throw this.error(kind, `VLM endpoint ${this.endpointText} ${what[kind]}: ${excerpt.slice(0, 200)}`, { status, body: excerpt, retryAfterS, ...(reason ? { reason } : {}) });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw this.error('bad_response', `VLM endpoint ${this.endpointText} answered ${status} with a body that is not JSON`, { status, body: excerpt });
    }
    const parsed = ChatResponse.safeParse(json);
    if (!parsed.success) throw this.error('bad_response', `VLM endpoint ${this.endpointText} answered ${status} with JSON that is not a chat completion (no choices[0].message)`, { status, body: excerpt });
    const usage = parsed.data.usage;
    return {
      content: parsed.data.choices[0].message.content ?? '',
      usage: { promptTokens: usage?.prompt_tokens ?? 0, completionTokens: usage?.completion_tokens ?? 0 },
      usageReported: usage?.prompt_tokens !== undefined,
      model: parsed.data.model ?? this.model,
    };
  }
}

/** A user message of text followed by images (data URLs), in the OpenAI vision format. */
export function userMessage(text: string, imageUrls: string[]): ChatMessage {
  return { role: 'user', content: [{ type: 'text', text }, ...imageUrls.map((url) => ({ type: 'image_url' as const, image_url: { url } }))] };
}
