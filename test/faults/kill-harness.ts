import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Job } from '../../electron/api/schemas.js';
import { openLab, type Lab } from '../../electron/engine/lab-runtime.js';
import { forkSpawner } from '../../electron/engine/jobs/fork-process.js';
import type { JobProcess } from '../../electron/engine/jobs/protocol.js';
import { workerEntry } from '../../electron/cli/paths.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The kill -9 harness of the fault suite: a real lab whose job workers are forked from the real worker
 * entry, with every job process visible (pid, messages), and a driver that SIGKILLs a job's worker each
 * time its progress crosses k/(N+1), resumes it through the supervisor, and records what each attempt did.
 */

/** How many kills per job kind: VLA_AD_FAULT_KILLS (npm run faults: 5), else 2 (the CI form in npm test). */
export const FAULT_KILLS = (() => {
  const raw = process.env.VLA_AD_FAULT_KILLS;
  if (raw === undefined || raw === '') return 2;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new Error(`VLA_AD_FAULT_KILLS must be an integer 1..50, got ${raw}`);
  return n;
})();

export interface WatchedLab {
  lab: Lab;
  dir: string;
  /** Called with the next job process the supervisor spawns (one-shot). */
  onNextSpawn(fn: (jobId: string, proc: JobProcess) => void): void;
  cleanup(): void;
}

export function watchedLab(owner = 'faults'): WatchedLab {
  const t = tempDir('vla-ad-faults-');
  const fork = forkSpawner(workerEntry);
  let next: ((jobId: string, proc: JobProcess) => void) | null = null;
  const lab = openLab({
    dataDir: path.join(t.dir, 'data'),
    owner,
    spawn: (jobId) => {
      const proc = fork(jobId);
      const fn = next;
      next = null;
      fn?.(jobId, proc);
      return proc;
    },
  });
  return {
    lab,
    dir: t.dir,
    onNextSpawn: (fn) => {
      next = fn;
    },
    cleanup: () => {
      lab.close();
      t.cleanup();
    },
  };
}

export interface ProgressPoint {
  fraction: number;
  stage: string;
}

export interface KillPoint {
  /** 1-based kill number. */
  k: number;
  threshold: number;
  /** The progress (fraction, stage) the kill answered. */
  fraction: number;
  stage: string;
  /** 1-based attempt that was killed. */
  attempt: number;
  /** The job's stored status just before the kill (it must be running). */
  statusBefore: string;
  /** What the kind's probe said once the killed worker was gone (e.g. its last checkpoint), for the resume assertions. */
  probe: unknown;
}

export interface Attempt {
  pid: number;
  progress: ProgressPoint[];
  /** Exit code; null when a signal ended it (our SIGKILL). */
  exitCode: number | null | undefined;
  /** The kill of this attempt, if any. */
  kill: KillPoint | null;
  /** The worker's child processes (rollout pool) when it was killed. */
  orphans: number[];
  /** Their command lines. */
  orphanCommands: string[];
  /** Of `orphans`, those still running when the next attempt reported its first progress (an overlap). */
  orphansAtResume: number[];
  /** Whether the worker had sent its result before the kill landed. */
  sawResult: boolean;
  /** The job as it ended this attempt. */
  final: Job | null;
}

export interface KillRun {
  jobId: string;
  attempts: Attempt[];
  kills: KillPoint[];
  final: Job;
  wallMs: number;
}

export interface KillOptions {
  kills: number;
  /**
   * Where the progress fraction comes from: the worker's progress messages (default), or a poll of
   * what the job has committed to disk (for jobs whose messages are coarse, e.g. collect in worker processes).
   */
  poll?: { fraction: () => number; intervalMs?: number };
  /** A snapshot taken after each killed worker exited (checkpoint epoch, episodes on disk), kept in the KillPoint. */
  probe?: () => unknown;
  /** Give up after this long (a hang is a failure, not a timing assertion). */
  timeoutMs?: number;
}

/** The pids whose parent is `pid` (from /proc; [] where there is none). */
export function childPids(pid: number): number[] {
  if (!existsSync('/proc')) return [];
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** A process's command line (for reports), '' when it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** Whether a process runs (a zombie, dead but not yet reaped, does not). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self'); // no /proc: trust kill(0)
  }
}

/**
 * Run a job, SIGKILLing its worker when its progress crosses k/(N+1) for k = 1..N (each kill at a
 * fraction above the previous one, never at 1), resuming it after each kill, until it ends without a
 * kill. The caller asserts on what it returns.
 */
export async function runWithKills(w: WatchedLab, kind: string, experimentId: string, params: Record<string, unknown>, opts: KillOptions): Promise<KillRun> {
  const { lab } = w;
  const N = opts.kills;
  const thresholds = Array.from({ length: N }, (_, i) => (i + 1) / (N + 1));
  const kills: KillPoint[] = [];
  const attempts: Attempt[] = [];
  const t0 = Date.now();
  let jobId = '';

  const attach = (id: string, proc: JobProcess) => {
    const a: Attempt = { pid: proc.pid ?? -1, progress: [], exitCode: undefined, kill: null, orphans: [], orphanCommands: [], orphansAtResume: [], sawResult: false, final: null };
    attempts.push(a);
    const consider = (fraction: number, stage: string) => {
      if (a.kill || kills.length >= N || a.exitCode !== undefined) return;
      if (!(fraction < 1) || fraction < thresholds[kills.length]) return;
      if (fraction <= (kills.at(-1)?.fraction ?? 0)) return;
      const statusBefore = lab.store.getJob(id).status;
      a.orphans = childPids(a.pid);
      a.orphanCommands = a.orphans.map(commandOf);
      a.kill = { k: kills.length + 1, threshold: thresholds[kills.length], fraction, stage, attempt: attempts.length, statusBefore, probe: null };
      kills.push(a.kill);
      process.kill(a.pid, 'SIGKILL');
    };
    proc.onMessage((raw) => {
      const m = raw as { type?: string; fraction?: number; stage?: string };
      if (m?.type === 'result') a.sawResult = true;
      if (m?.type !== 'progress' || typeof m.fraction !== 'number') return;
      const before = attempts.at(-2);
      if (a.progress.length === 0 && before) before.orphansAtResume = before.orphans.filter(alive);
      a.progress.push({ fraction: m.fraction, stage: String(m.stage) });
      if (!opts.poll) consider(m.fraction, String(m.stage));
    });
    let timer: NodeJS.Timeout | null = null;
    if (opts.poll) {
      const poll = opts.poll;
      // What was on disk when this attempt began its work (its first progress message): a kill needs more
      // than that, i.e. work this attempt did (not what the previous attempt's processes finished late).
      let baseline: number | null = null;
      timer = setInterval(() => {
        let f: number;
        try {
          f = poll.fraction();
        } catch {
          return; // a file between writes: next tick
        }
        if (baseline === null) {
          if (a.progress.length > 0) baseline = f;
          return;
        }
        if (f > baseline) consider(f, 'polled from disk');
      }, poll.intervalMs ?? 20);
    }
    proc.onExit((code) => {
      a.exitCode = code;
      if (timer) clearInterval(timer);
    });
  };

  const deadline = t0 + (opts.timeoutMs ?? 600_000);
  w.onNextSpawn(attach);
  let job = lab.supervisor.start(kind, experimentId, params);
  jobId = job.id;
  for (;;) {
    const final = await Promise.race([
      lab.supervisor.waitFor(jobId),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${kind}: job ${jobId} still running after ${opts.timeoutMs ?? 600_000} ms`)), Math.max(1, deadline - Date.now())).unref()),
    ]);
    const a = attempts.at(-1)!;
    a.final = final;
    // What the dead worker left (its last checkpoint, its committed episodes): what the resume starts from.
    if (a.kill && opts.probe) a.kill.probe = opts.probe();
    if (!a.kill || final.status !== 'interrupted') return { jobId, attempts, kills, final, wallMs: Date.now() - t0 };
    w.onNextSpawn(attach);
    job = lab.supervisor.resume(jobId);
  }
}

/** Wait until none of `pids` is alive (the killed worker's pool processes stop at their next safe point). */
export async function waitGone(pids: readonly number[], timeoutMs = 30_000): Promise<number[]> {
  const t0 = Date.now();
  let left = pids.filter(alive);
  while (left.length && Date.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(alive);
  }
  return left;
}

/** The first progress of an attempt that is real work (not a start-up stage), or null. */
export function firstWork(a: Attempt, isWork: (p: ProgressPoint) => boolean): ProgressPoint | null {
  return a.progress.find(isWork) ?? null;
}
