import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { LabError } from '../errors.js';
import { bridgeScript } from '../util/runtime-paths.js';
import { decodeJsonNumpy } from '../policies/json-numpy.js';
import type { Env, StepResult, TaskInfo } from './env.js';
import type { Observation } from '../policies/types.js';

/**
 * Env over the LIBERO bridge (resources/libero_bridge.py, protocol in docs/libero-bridge.md): a child
 * Python process in the user's LIBERO environment, JSON lines over stdio, one request at a time.
 * Every answer is validated; a bridge error, a malformed line, a timeout or the process dying become
 * REMOTE_ERROR naming the command (and the bridge's stderr tail when it died).
 */
export const DEFAULT_BRIDGE_SCRIPT = bridgeScript();

export interface LiberoBridgeOptions {
  python: string; // the LIBERO environment's interpreter
  script?: string;
  args?: string[]; // e.g. ['--backend', 'kinematic', '--image-size', '128']
  timeoutMs?: number; // per request; LIBERO's first reset compiles the scene and can take a while
  startTimeoutMs?: number;
}

const Floats = (n?: number) => (n === undefined ? z.array(z.number()) : z.array(z.number()).length(n));
const ObsWire = z.object({
  agentview_rgb: z.unknown(),
  eye_in_hand_rgb: z.unknown(),
  ee_pos: Floats(3),
  ee_ori: Floats(3),
  gripper_states: Floats(2),
  joint_states: Floats(7),
  robot_states: Floats(9),
  state: Floats(),
});
const TaskWire = z.object({ index: z.number().int(), name: z.string(), instruction: z.string(), num_init_states: z.number().int() });
const StepWire = z.object({ obs: z.unknown(), reward: z.number(), done: z.boolean(), success: z.boolean() });
const Answer = z.object({
  id: z.number().nullable().optional(),
  result: z.unknown().optional(),
  error: z.object({ type: z.string().optional(), message: z.string(), traceback: z.string().optional() }).optional(),
});
const Ready = z.object({ event: z.literal('ready'), protocol: z.literal('vla-ad-libero-bridge'), version: z.literal(1), backend: z.string() });

export class LiberoBridgeEnv implements Env {
  readonly name: string;
  backend = '';
  private proc: ChildProcessWithoutNullStreams | null = null;
  private lines: AsyncIterator<string> | null = null;
  private nextId = 1;
  private stderrTail: string[] = [];
  private busy = false;
  private exited: string | null = null;

  constructor(private readonly opts: LiberoBridgeOptions) {
    this.name = `libero-bridge:${opts.python}`;
  }

  private err(cmd: string, message: string, details: Record<string, unknown> = {}): LabError {
    const tail = this.stderrTail.length ? `\nbridge stderr:\n${this.stderrTail.join('\n')}` : '';
    return new LabError('REMOTE_ERROR', `LIBERO bridge, ${cmd}: ${message}${tail}`, { source: 'libero-bridge', cmd, ...details });
  }

  private async readLine(cmd: string, timeoutMs: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // A late answer would desynchronize the line protocol: drop this bridge; the next request starts a fresh one.
        this.abandon();
        reject(this.err(cmd, `no answer within ${timeoutMs} ms (bridge stopped; the next request restarts it)`, { reason: 'timeout' }));
      }, timeoutMs);
    });
    try {
      const r = await Promise.race([this.lines!.next(), timeout]);
      if (r.done) {
        await this.stderrDrained(1000); // so the error can show why it died
        throw this.err(cmd, `the bridge process exited (${this.exited ?? 'stdout closed'})`, { reason: 'exited' });
      }
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }

  private stderrDone: Promise<void> = Promise.resolve();

  private async stderrDrained(maxMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.stderrDone, new Promise<void>((r) => (timer = setTimeout(r, maxMs)))]);
    clearTimeout(timer);
  }

  private abandon(): void {
    const proc = this.proc;
    this.proc = null;
    this.lines = null;
    proc?.kill('SIGKILL');
  }

  private async start(): Promise<void> {
    if (this.proc) return;
    const proc = spawn(this.opts.python, [this.opts.script ?? DEFAULT_BRIDGE_SCRIPT, ...(this.opts.args ?? [])], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stderr.setEncoding('utf8');
    this.stderrDone = new Promise<void>((resolve) => {
      proc.stderr.once('end', () => resolve());
      proc.stderr.once('close', () => resolve());
    });
    proc.stderr.on('data', (s: string) => {
      this.stderrTail.push(...s.split('\n').filter(Boolean));
      this.stderrTail = this.stderrTail.slice(-20);
    });
    proc.on('exit', (code, signal) => (this.exited = `code ${code}${signal ? `, signal ${signal}` : ''}`));
    proc.on('error', (e) => (this.exited = e.message));
    proc.stdin.on('error', () => {}); // a dead bridge is reported by readLine
    this.lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const line = await this.readLine('start', this.opts.startTimeoutMs ?? 60_000);
    let hello: unknown;
    try {
      hello = JSON.parse(line);
    } catch {
      throw this.err('start', `first line is not JSON: ${JSON.stringify(line.slice(0, 120))}`, { reason: 'malformed' });
    }
    const r = Ready.safeParse(hello);
    if (!r.success) throw this.err('start', `not a vla-ad-libero-bridge v1 greeting: ${line.slice(0, 200)}`, { reason: 'protocol' });
    this.backend = r.data.backend;
  }

  private async request(cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
    if (this.busy) throw new LabError('CONFLICT', `LIBERO bridge: ${cmd} while another request is in flight (one at a time)`, { cmd });
    this.busy = true;
    try {
      await this.start();
      const id = this.nextId++;
      this.proc!.stdin.write(JSON.stringify({ id, cmd, ...args }) + '\n');
      const line = await this.readLine(cmd, this.opts.timeoutMs ?? 120_000);
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw this.err(cmd, `answer is not JSON: ${JSON.stringify(line.slice(0, 120))}`, { reason: 'malformed' });
      }
      const a = Answer.safeParse(raw);
      if (!a.success) throw this.err(cmd, `malformed answer: ${line.slice(0, 200)}`, { reason: 'malformed' });
      if (a.data.error) throw this.err(cmd, `${a.data.error.type ?? 'error'}: ${a.data.error.message}`, { reason: 'bridge-error', type: a.data.error.type });
      if (a.data.id !== id) throw this.err(cmd, `answer id ${a.data.id} does not match request id ${id}`, { reason: 'protocol' });
      return a.data.result;
    } finally {
      this.busy = false;
    }
  }

  private parse<T>(schema: z.ZodType<T>, value: unknown, cmd: string): T {
    const r = schema.safeParse(value);
    if (!r.success) {
      const i = r.error.issues[0];
      throw this.err(cmd, `field ${i.path.join('.') || '(result)'}: ${i.message}`, { reason: 'malformed', field: i.path.join('.') });
    }
    return r.data;
  }

  private observation(value: unknown, cmd: string): Observation {
    const o = this.parse(ObsWire, value, cmd);
    const source = `LIBERO bridge, ${cmd}`;
    const agent = decodeJsonNumpy(o.agentview_rgb, source, 'obs.agentview_rgb');
    const wrist = decodeJsonNumpy(o.eye_in_hand_rgb, source, 'obs.eye_in_hand_rgb');
    for (const [field, img] of [['obs.agentview_rgb', agent], ['obs.eye_in_hand_rgb', wrist]] as const) {
      if (!(img.data instanceof Uint8Array) || img.shape.length !== 3 || img.shape[2] !== 3) {
        throw this.err(cmd, `${field} must be uint8 H×W×3, got shape [${img.shape.join(', ')}]`, { field });
      }
    }
    if (agent.shape[0] !== wrist.shape[0] || agent.shape[1] !== wrist.shape[1]) {
      throw this.err(cmd, `camera sizes differ: agentview [${agent.shape.join(', ')}], wrist [${wrist.shape.join(', ')}]`, { field: 'obs.eye_in_hand_rgb' });
    }
    return {
      imageSize: { height: agent.shape[0], width: agent.shape[1] },
      agentview_rgb: agent.data as Uint8Array,
      eye_in_hand_rgb: wrist.data as Uint8Array,
      ee_pos: Float64Array.from(o.ee_pos),
      ee_ori: Float64Array.from(o.ee_ori),
      gripper_states: Float64Array.from(o.gripper_states),
      joint_states: Float64Array.from(o.joint_states),
      robot_states: Float64Array.from(o.robot_states),
      state: Float64Array.from(o.state),
    };
  }

  async listSuites(): Promise<string[]> {
    return this.parse(z.array(z.string()), await this.request('list_suites'), 'list_suites');
  }

  async listTasks(suite: string): Promise<TaskInfo[]> {
    const tasks = this.parse(z.array(TaskWire), await this.request('list_tasks', { suite }), 'list_tasks');
    return tasks.map((t) => ({ index: t.index, name: t.name, instruction: t.instruction, numInitStates: t.num_init_states }));
  }

  async reset(opts: { suite: string; taskIndex: number; initIndex: number; seed: number }): Promise<Observation> {
    const r = this.parse(z.object({ obs: z.unknown() }), await this.request('reset', { suite: opts.suite, task: opts.taskIndex, init_index: opts.initIndex, seed: opts.seed }), 'reset');
    return this.observation(r.obs, 'reset');
  }

  async step(action: Float32Array): Promise<StepResult> {
    if (action.length !== 7 || !action.every(Number.isFinite)) {
      throw new LabError('INVALID_INPUT', `LIBERO bridge step: action must be 7 finite numbers, got [${Array.from(action).join(', ')}]`, { field: 'action' });
    }
    const r = this.parse(StepWire, await this.request('step', { action: Array.from(action) }), 'step');
    return { obs: this.observation(r.obs, 'step'), reward: r.reward, done: r.done, success: r.success };
  }

  async close(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    if (this.exited === null && this.lines) {
      try {
        await this.request('close');
      } catch {
        // already gone or wedged: fall through to kill
      }
    }
    this.proc = null;
    proc.stdin.end();
    await new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      const t = setTimeout(() => proc.kill('SIGKILL'), 1000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
