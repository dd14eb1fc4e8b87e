import os from 'node:os';
import path from 'node:path';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { writeJsonAtomic } from '../../engine/util/atomic.js';

/**
 * Every benchmark suite returns a BenchReport; `recordBench` writes it as JSON under docs/bench/ and
 * appends one line to docs/BENCHMARKS.md with the command, the machine and the date. Timings live here,
 * never in tests. Each row compares the product ("ours") against the peer measured in the same run.
 */
export interface BenchRow {
  name: string; // what was measured, e.g. "train step, 2-layer transformer w256 b32"
  unit: string; // e.g. "ms/step", "steps/s"
  ours: number;
  peer?: number; // the peer's figure in the same run (PyTorch, h5py, ...)
  peerName?: string;
  /** ours/peer for times (lower is better), peer/ours never: the ratio is always ours ÷ peer. */
  ratio?: number;
  target?: string; // the target, in words
  note?: string;
}

export interface BenchReport {
  suite: string;
  command: string;
  rows: BenchRow[];
  extra?: Record<string, unknown>;
}

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} cores (${cpu.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.arch()}, node ${process.version}`;
}

export async function recordBench(report: BenchReport, repoRoot: string): Promise<string> {
  const date = new Date().toISOString();
  const jsonPath = path.join(repoRoot, 'docs', 'bench', `${report.suite}.json`);
  await writeJsonAtomic(jsonPath, { ...report, machine: machineLine(), date });
  const mdPath = path.join(repoRoot, 'docs', 'BENCHMARKS.md');
  if (!existsSync(mdPath)) {
    writeFileSync(mdPath, '# Benchmarks\n\nOne line per run: date, command, machine, figures (ours / peer = ratio).\n\n');
  }
  const figures = report.rows
    .map((r) => {
      const peer = r.peer !== undefined ? ` vs ${r.peerName ?? 'peer'} ${fmt(r.peer)}` : '';
      const ratio = r.ratio !== undefined ? ` (ratio ${r.ratio.toFixed(2)})` : '';
      return `${r.name}: ${fmt(r.ours)} ${r.unit}${peer}${ratio}`;
    })
    .join('; ');
  appendFileSync(mdPath, `- ${date.slice(0, 10)} \`${report.command}\` on ${machineLine()}: ${figures}. JSON: docs/bench/${report.suite}.json\n`);
  return jsonPath;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/** Median and p95 of a list of samples. */
export function summarize(samples: number[]): { median: number; p95: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { median: q(0.5), p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** The value after `--name` in a suite's arguments, or undefined. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Wall times (ms) of `iters` runs of `f` after `warmup` unmeasured ones. */
export async function timeSamples(f: () => Promise<unknown>, warmup: number, iters: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await f();
  const s: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await f();
    s.push(performance.now() - t0);
  }
  return s;
}
