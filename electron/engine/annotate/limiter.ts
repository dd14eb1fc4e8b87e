import { LabError } from '../errors.js';

/**
 * A concurrency limit plus a request-rate limit. `run(fn)` waits for a free slot and for the next start
 * time allowed by `requestsPerMinute` (starts are spaced evenly, 60 000 / rpm ms apart), then runs fn.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private nextStart = 0;

  constructor(
    readonly concurrency: number,
    readonly requestsPerMinute?: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new LabError('INVALID_INPUT', `concurrency must be a positive integer, got ${concurrency}`, { field: 'concurrency', value: concurrency });
    if (requestsPerMinute !== undefined && !(requestsPerMinute > 0)) throw new LabError('INVALID_INPUT', `requestsPerMinute must be positive, got ${requestsPerMinute}`, { field: 'requestsPerMinute', value: requestsPerMinute });
  }

  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      if (this.requestsPerMinute) {
        const spacing = 60_000 / this.requestsPerMinute;
        const now = Date.now();
        const start = Math.max(now, this.nextStart);
        this.nextStart = start + spacing;
        if (start > now) await sleep(start - now, signal);
      }
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(cancelled());
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(cancelled());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(grant);
    });
  }

  private release(): void {
    this.active--;
    const next = this.waiting.shift();
    if (next) next();
  }
}

export const cancelled = () => new LabError('CANCELLED', 'annotation cancelled');

/** setTimeout as a promise that rejects with CANCELLED when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
