import { z } from 'zod';
import { LabError, parseOr } from '../errors.js';
import { openVlaImage } from '../data/image.js';
import { ACTION_DIM } from '../data/episode.js';
import { asNumbers, decodeJsonNumpy, encodeJsonNumpy } from './json-numpy.js';
import { checkRemoteActions, type Observation, type Policy, type PolicyContext } from './types.js';

/**
 * OpenVLA REST teacher: the protocol of openvla's vla-scripts/deploy.py. Request:
 *   POST {url}/act  {"image": json-numpy uint8 H×W×3, "instruction": str, "unnorm_key"?: str}
 * (or, with `doubleEncode`, {"encoded": json string of that payload}, the deploy script's fallback for
 * clients without json-numpy). Response: the 7-D action as a json-numpy array (double-encoded requests get
 * it back as a JSON string); a failing server answers the JSON string "error".
 *
 * Preprocessing follows OpenVLA's LIBERO evaluation: agentview rotated 180°, resized to 224 (lanczos3).
 * Gripper: OpenVLA predicts 0 = close, 1 = open (its RLDS convention); run_libero_eval.py maps it with
 * normalize_gripper_action(binarize) then invert_gripper_action, i.e. g → -sign(2g - 1), to LIBERO's
 * -1 open / +1 close. `gripper: 'libero'` skips that for servers that already speak LIBERO's convention.
 */
export interface OpenVlaRestOptions {
  url: string; // e.g. http://127.0.0.1:8000
  timeoutMs?: number;
  unnormKey?: string;
  doubleEncode?: boolean;
  imageSize?: number;
  gripper?: 'openvla' | 'libero';
}

export const OpenVlaRestOptions = z.object({
  url: z.url(),
  timeoutMs: z.number().int().positive().optional(),
  unnormKey: z.string().optional(),
  doubleEncode: z.boolean().optional(),
  imageSize: z.number().int().positive().optional(),
  gripper: z.enum(['openvla', 'libero']).optional(),
});

/** OpenVLA [0, 1] gripper (1 = open) → LIBERO ±1 (+1 = close), as run_libero_eval.py does. */
export const openVlaGripperToLibero = (g: number) => -Math.sign(2 * g - 1);

export class OpenVlaRestPolicy implements Policy {
  readonly name: string;
  private instruction = '';
  private readonly opts: Required<Omit<OpenVlaRestOptions, 'unnormKey'>> & { unnormKey?: string };

  constructor(options: OpenVlaRestOptions) {
    const parsed = parseOr(OpenVlaRestOptions, options, 'OpenVLA teacher options');
    // An option given as undefined means "the default" (a spec's unset field), not "none".
    const given = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== undefined)) as typeof parsed;
    this.opts = { timeoutMs: 30_000, doubleEncode: false, imageSize: 224, gripper: 'openvla', ...given };
    this.name = `openvla-rest:${this.opts.url}`;
  }

  async reset(ctx: PolicyContext): Promise<void> {
    this.instruction = ctx.instruction;
  }

  async act(obs: Observation): Promise<Float32Array> {
    const img = openVlaImage({ data: obs.agentview_rgb, height: obs.imageSize.height, width: obs.imageSize.width, channels: 3 }, this.opts.imageSize);
    const payload: Record<string, unknown> = { image: encodeJsonNumpy(img.data, [img.height, img.width, 3]), instruction: this.instruction };
    if (this.opts.unnormKey) payload.unnorm_key = this.opts.unnormKey;
    const body = JSON.stringify(this.opts.doubleEncode ? { encoded: JSON.stringify(payload) } : payload);
    const source = `OpenVLA server ${this.opts.url}`;
    const endpoint = new URL('/act', this.opts.url).toString();
    let text: string;
    try {
      const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(this.opts.timeoutMs) });
      text = await res.text();
      if (!res.ok) throw new LabError('REMOTE_ERROR', `${source}: HTTP ${res.status}: ${text.slice(0, 200)}`, { source, status: res.status });
    } catch (err) {
      if (err instanceof LabError) throw err;
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new LabError('REMOTE_ERROR', `${source}: no answer within ${this.opts.timeoutMs} ms`, { source, timeoutMs: this.opts.timeoutMs, reason: 'timeout' });
      }
      throw new LabError('REMOTE_ERROR', `${source}: request failed (${(e.cause as Error)?.message ?? e.message})`, { source, reason: 'network' }, { cause: err });
    }
    const action = parseOpenVlaResponse(text, source);
    if (this.opts.gripper === 'openvla') action[ACTION_DIM - 1] = openVlaGripperToLibero(action[ACTION_DIM - 1]);
    return action;
  }
}

/** Parse deploy.py's answer: json-numpy action, possibly double-encoded, or the string "error". */
export function parseOpenVlaResponse(text: string, source: string): Float32Array {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LabError('REMOTE_ERROR', `${source}: response is not JSON: ${JSON.stringify(text.slice(0, 120))}`, { source, field: 'body', reason: 'malformed' });
  }
  if (value === 'error') throw new LabError('REMOTE_ERROR', `${source}: the server reported an error ("error"); see its log`, { source, field: 'body', reason: 'server-error' });
  if (typeof value === 'string') {
    const inner = value;
    try {
      value = JSON.parse(inner); // double-encoded answer
    } catch {
      throw new LabError('REMOTE_ERROR', `${source}: response string is not a json-numpy action: ${JSON.stringify(inner.slice(0, 120))}`, { source, field: 'body', reason: 'malformed' });
    }
  }
  if (Array.isArray(value)) return checkRemoteActions(value.map(Number), [value.length], source, 'action');
  const { data, shape } = decodeJsonNumpy(value, source, 'action');
  return checkRemoteActions(asNumbers(data), shape, source, 'action');
}
