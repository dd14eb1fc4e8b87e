import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport, BenchRow } from './report.js';
import { summarize } from './report.js';
import { readLiberoHdf5, writeLiberoHdf5 } from '../../engine/data/libero-hdf5.js';
import { syntheticEpisode } from '../../engine/data/synthetic-episode.js';
import { collectRollouts } from '../../engine/teacher/collect.js';
import type { Env, StepResult } from '../../engine/envs/env.js';
import type { Observation, Policy } from '../../engine/policies/types.js';

/**
 * `npm run bench -- collect [episodes] [frames]`: HDF5 write/read throughput of the LIBERO layout, ours
 * (h5wasm) vs h5py on the same file, and the collection loop's own overhead (recording + HDF5 appends)
 * with a zero-cost stub env. Frames/s of real collection with the scripted teacher needs the simulator
 * (sim/), which is not available yet: that row comes later.
 */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Stub env: returns a fixed 128×128 observation and succeeds after `length` steps. No physics. */
class StubEnv implements Env {
  readonly name = 'stub';
  private t = 0;
  private obs: Observation = {
    imageSize: { height: 128, width: 128 },
    agentview_rgb: new Uint8Array(128 * 128 * 3).fill(90),
    eye_in_hand_rgb: new Uint8Array(128 * 128 * 3).fill(30),
    ee_pos: new Float64Array(3),
    ee_ori: new Float64Array(3),
    gripper_states: new Float64Array(2),
    joint_states: new Float64Array(7),
    robot_states: new Float64Array(9),
    state: new Float64Array(79),
  };
  constructor(private length: number) {}
  async listSuites() { return ['spatial']; }
  async listTasks() { return [{ index: 0, name: 't0', instruction: 'stub', numInitStates: 1000 }]; }
  async reset() { this.t = 0; return this.obs; }
  async step(): Promise<StepResult> {
    this.t++;
    const success = this.t >= this.length + 10;
    return { obs: this.obs, reward: success ? 1 : 0, done: success, success };
  }
  async close() {}
}

const stubPolicy: Policy = { name: 'stub', reset: async () => {}, act: async () => Float32Array.of(0.1, 0, 0, 0, 0, 0, -1) };

export default async function collectBench(args: string[]): Promise<BenchReport> {
  const episodes = Number(args[0] ?? 8);
  const frames = Number(args[1] ?? 120);
  const repeats = 3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-collect-'));
  const rows: BenchRow[] = [];
  try {
    const eps = Array.from({ length: episodes }, (_, i) => syntheticEpisode({ length: frames, seed: i, imageSize: 128, stateDim: 79 }));
    const file = path.join(dir, 'ours.hdf5');
    const writeS: number[] = [];
    const readS: number[] = [];
    for (let r = 0; r < repeats; r++) {
      let t = performance.now();
      await writeLiberoHdf5(file, eps);
      writeS.push((performance.now() - t) / 1000);
      t = performance.now();
      await readLiberoHdf5(file);
      readS.push((performance.now() - t) / 1000);
    }
    const mb = statSync(file).size / 1e6;
    const peer = JSON.parse(
      execFileSync('/usr/bin/python3', [path.join(repoRoot, 'test/python/bench_hdf5.py'), file, path.join(dir, 'h5py.hdf5'), String(repeats)], { encoding: 'utf8' }),
    ) as { read_s: number; write_s: number; bytes: number };
    const oursWrite = mb / summarize(writeS).median;
    const oursRead = mb / summarize(readS).median;
    const peerWrite = mb / peer.write_s;
    const peerRead = mb / peer.read_s;
    const shape = `${episodes} demos × ${frames} frames, 2×128² cameras, ${mb.toFixed(0)} MB`;
    rows.push({ name: `HDF5 write, LIBERO layout (${shape})`, unit: 'MB/s', ours: oursWrite, peer: peerWrite, peerName: 'h5py', ratio: oursWrite / peerWrite, note: 'ours includes validation, temp file, fsync and rename; median of 3' });
    rows.push({ name: `HDF5 read, every field of every demo (${shape})`, unit: 'MB/s', ours: oursRead, peer: peerRead, peerName: 'h5py', ratio: oursRead / peerRead, note: 'ours includes key/dtype/shape validation and conversion to Episode; median of 3' });

    const outDir = path.join(dir, 'collect');
    const r = await collectRollouts(new StubEnv(frames), stubPolicy, { suite: 'spatial', tasks: [0], episodesPerTask: episodes, seed: 0, outDir, maxSteps: frames + 5, warmupSteps: 10, flushEvery: 4 });
    rows.push({
      name: `collection loop overhead, stub env (${episodes} episodes × ${frames} frames)`,
      unit: 'frames/s',
      ours: r.frames / r.seconds,
      note: 'recording + atomic HDF5 appends only, zero-cost stub env; frames/s with the scripted teacher in the built-in simulator needs sim/ (not built yet): later',
    });
    return { suite: 'collect', command: `npm run bench -- collect ${episodes} ${frames}`, rows, extra: { fileMB: mb, writeSeconds: writeS, readSeconds: readS, h5py: peer } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
