import WebSocket from 'ws';
import { LabError } from '../errors.js';
import { resize, rotate180 } from '../data/image.js';
import { checkRemoteActions, type Observation, type Policy, type PolicyContext } from './types.js';
import { NdArray, asNumbers, packb, unpackb } from './msgpack-numpy.js';

/**
 * openpi-style websocket policy (openpi-client's WebsocketClientPolicy / WebsocketPolicyServer):
 * binary frames of msgpack-numpy. On connect the server sends its metadata; then each request is an
 * observation dict and each answer a dict with "actions" (H×7 chunk). A text frame is the server's
 * error traceback. Observations follow openpi's LIBERO example (examples/libero/main.py):
 *   observation/image        224×224×3 uint8, agentview rotated 180°
 *   observation/wrist_image  224×224×3 uint8, rotated 180°
 *   observation/state        8 float64: ee pos 3, ee axis-angle 3, gripper qpos 2
 *   prompt                   the instruction
 * and the client executes the first `replanSteps` actions of each chunk (openpi's default 5).
 */
export interface WebsocketPolicyOptions {
  url: string; // ws://host:port
  timeoutMs?: number;
  replanSteps?: number;
  imageSize?: number;
}

export class WebsocketPolicy implements Policy {
  readonly name: string;
  metadata: Record<string, unknown> | null = null;
  private ws: WebSocket | null = null;
  private instruction = '';
  private readonly timeoutMs: number;
  private readonly replanSteps: number;
  private readonly imageSize: number;
  private pending: { resolve: (d: WebSocket.RawData, isBinary: boolean) => void; reject: (e: Error) => void } | null = null;

  constructor(private readonly opts: WebsocketPolicyOptions) {
    if (!/^wss?:\/\//.test(opts.url)) throw new LabError('INVALID_INPUT', `websocket teacher url must start with ws:// or wss://, got ${opts.url}`, { field: 'url' });
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.replanSteps = opts.replanSteps ?? 5;
    this.imageSize = opts.imageSize ?? 224;
    this.name = `openpi-ws:${opts.url}`;
  }

  private get source() {
    return `websocket policy server ${this.opts.url}`;
  }

  private fail(message: string, details: Record<string, unknown> = {}): LabError {
    return new LabError('REMOTE_ERROR', `${this.source}: ${message}`, { source: this.source, ...details });
  }

  /** The next frame from the server, or REMOTE_ERROR on timeout / close. */
  private next(): Promise<{ data: WebSocket.RawData; isBinary: boolean }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(this.fail(`no answer within ${this.timeoutMs} ms`, { reason: 'timeout' }));
        this.dropConnection();
      }, this.timeoutMs);
      this.pending = {
        resolve: (data, isBinary) => {
          clearTimeout(timer);
          resolve({ data, isBinary });
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private dropConnection() {
    const ws = this.ws;
    this.ws = null;
    ws?.terminate();
  }

  private async connect(): Promise<WebSocket> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return this.ws;
    const ws = new WebSocket(this.opts.url, { maxPayload: 256 << 20, handshakeTimeout: this.timeoutMs });
    this.ws = ws;
    // Only the current socket answers the pending request: a dropped one's late close must not fail the new one's.
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      const p = this.pending;
      this.pending = null;
      p?.resolve(data, isBinary);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      const p = this.pending;
      this.pending = null;
      p?.reject(this.fail(`connection closed (${code} ${reason.toString()})`, { reason: 'closed', code }));
      this.ws = null;
    });
    ws.on('error', (err) => {
      if (this.ws !== ws) return;
      const p = this.pending;
      this.pending = null;
      p?.reject(this.fail(`connection error (${err.message})`, { reason: 'network' }));
    });
    // The metadata frame may arrive right after the handshake, so its wait starts now; when the connection
    // fails instead, both waits reject and only the handshake's is the caller's: the other is marked handled
    // (an unawaited rejection would take a collect worker down instead of reporting).
    const first = this.next();
    first.catch(() => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', (err) => reject(this.fail(`cannot connect (${err.message})`, { reason: 'network' })));
      });
    } catch (err) {
      if (this.ws === ws) this.dropConnection();
      throw err;
    }
    const meta = this.decode(await first, 'metadata');
    this.metadata = meta && typeof meta === 'object' ? (meta as Record<string, unknown>) : {};
    return ws;
  }

  private decode(frame: { data: WebSocket.RawData; isBinary: boolean }, what: string): unknown {
    const buf = Buffer.isBuffer(frame.data) ? frame.data : Array.isArray(frame.data) ? Buffer.concat(frame.data) : Buffer.from(frame.data as ArrayBuffer);
    // A text frame is openpi's traceback, sent just before the server closes this connection (1011): drop
    // it now, so the next request opens a new one instead of going to a socket that is closing.
    if (!frame.isBinary) this.dropConnection();
    if (!frame.isBinary) throw this.fail(`error from the server while answering ${what}:\n${buf.toString('utf8').slice(0, 2000)}`, { reason: 'server-error' });
    return unpackb(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), `${this.source} (${what})`);
  }

  async reset(ctx: PolicyContext): Promise<void> {
    this.instruction = ctx.instruction;
    await this.connect();
  }

  private image(data: Uint8Array, h: number, w: number): NdArray {
    const img = resize(rotate180({ data, height: h, width: w, channels: 3 }), this.imageSize, this.imageSize, 'bilinear');
    return new NdArray(img.data, [this.imageSize, this.imageSize, 3]);
  }

  async act(obs: Observation): Promise<Float32Array> {
    const ws = await this.connect();
    const { height, width } = obs.imageSize;
    // float64, as openpi's LIBERO example sends it (np.concatenate of the env's float64 arrays)
    const state = Float64Array.from([...obs.ee_pos, ...obs.ee_ori, ...obs.gripper_states]);
    const request = {
      'observation/image': this.image(obs.agentview_rgb, height, width),
      'observation/wrist_image': this.image(obs.eye_in_hand_rgb, height, width),
      'observation/state': new NdArray(state, [state.length]),
      prompt: this.instruction,
    };
    const answer = this.next();
    ws.send(packb(request));
    const response = this.decode(await answer, 'observation');
    if (!response || typeof response !== 'object' || !('actions' in response)) {
      throw this.fail(`answer has no "actions" field (keys: ${response && typeof response === 'object' ? Object.keys(response).join(', ') : typeof response})`, { field: 'actions', reason: 'malformed' });
    }
    const actions = (response as { actions: unknown }).actions;
    if (!(actions instanceof NdArray)) throw this.fail(`"actions" is not an ndarray`, { field: 'actions', reason: 'malformed' });
    const chunk = checkRemoteActions(asNumbers(actions.data), actions.shape, this.source, 'actions');
    return chunk.slice(0, Math.min(chunk.length, this.replanSteps * 7));
  }

  async close(): Promise<void> {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close();
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000).unref();
    });
  }
}
