import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicySpec } from '../../../../electron/engine/policies/spec.js';
import { makePolicy } from '../../../../electron/engine/policies/make-policy.js';
import { GraphBuilder, emitOnnx } from '../../../../electron/engine/graph/index.js';
import { StudentOnnxPolicy, StudentRuntime } from '../../../../electron/engine/policies/student-onnx.js';
import { exportPolicy, policyText, readTrainedStudent, type ExportInput } from '../../../../electron/engine/model/policy.js';
import { framePixels } from '../../../../electron/engine/model/preprocess.js';
import type { Observation } from '../../../../electron/engine/policies/types.js';
import { parseProtocol, planTrials } from '../../../../electron/engine/evaluate/protocol.js';
import { runTrial } from '../../../../electron/engine/evaluate/runner.js';
import { BuiltinSimEnv } from '../../../../electron/engine/envs/builtin-sim.js';
import { trainStudent } from '../../../../electron/engine/train/trainer.js';
import { tempDir } from '../../../helpers/tmp.js';
import { MICRO, microDataset } from '../train/helpers.js';

const tmp = tempDir('student-eval-');
let student: ExportInput;
let file: string;
beforeAll(async () => {
  await trainStudent(microDataset(2, 12), { ...MICRO, epochs: 1, batchSize: 8, lr: 1e-2, warmupSteps: 1, valFraction: 0.5, threads: 1, seed: 1, runId: 'eval-student', outDir: tmp.dir });
  student = readTrainedStudent(tmp.dir);
  file = path.join(tmp.dir, 'policy.onnx');
  await exportPolicy(student, file);
}, 120_000);
afterAll(() => tmp.cleanup());

const obs = (seed: number): Observation => {
  const img = Uint8Array.from({ length: 48 * 48 * 3 }, (_, i) => (i * 31 + seed * 17) % 251);
  return {
    imageSize: { height: 48, width: 48 },
    agentview_rgb: img,
    eye_in_hand_rgb: img,
    ee_pos: new Float64Array(3),
    ee_ori: new Float64Array(3),
    gripper_states: new Float64Array(2),
    joint_states: new Float64Array(7),
    robot_states: new Float64Array(9),
    state: new Float64Array(1),
  };
};

describe("the student's exported policy.onnx as an evaluation policy", () => {
  it('acts like the engine policy runner in both text modes (masked: instruction; phase: instruction | phase)', async () => {
    const engine = await StudentRuntime.fromWeights(student, { threads: 1 });
    const ctx = { suite: 'object', taskIndex: 0, instruction: 'put the bowl on the plate', initIndex: 0, seed: 1 };
    for (const mode of ['masked', 'phase'] as const) {
      const p = (await makePolicy(PolicySpec.parse({ kind: 'student', file: path.relative(tmp.dir, file), textMode: mode }), { seed: 0, baseDir: tmp.dir })) as StudentOnnxPolicy;
      expect(p.wantsPhase).toBe(true);
      await p.reset(ctx);
      p.setPhase('grasping');
      expect(p.text).toBe(mode === 'masked' ? ctx.instruction : `${ctx.instruction} | grasping`);
      for (const s of [0, 1]) {
        const got = await p.act(obs(s));
        expect(got).toHaveLength(4 * 7);
        const o = obs(s);
        const want = await engine.actPixels(framePixels({ data: o.agentview_rgb, height: 48, width: 48, channels: 3 }, student.config, { rotate180: student.rotate180 }), policyText(mode, ctx.instruction, 'grasping'));
        expect([...got]).toEqual([...want.actions]);
      }
      await p.close();
    }
    await engine.release();
  }, 60_000);

  it('drives the simulator in a closed-loop trial (phase mode: a label before every query)', async () => {
    const env = await BuiltinSimEnv.create({ imageSize: 64 });
    const p = await StudentOnnxPolicy.create(file, { textMode: 'phase' });
    const labels: string[] = [];
    const setPhase = p.setPhase.bind(p);
    p.setPhase = (ph) => {
      labels.push(ph);
      setPhase(ph);
    };
    try {
      const spec = { ...planTrials(parseProtocol({ suites: ['object'], tasks: [0], trialsPerTask: 1, maxSteps: { object: 12 } }), 'micro')[0], execution: { mode: 'replan' as const, n: 2 } };
      const r = await runTrial(env, p, spec);
      expect(r).toMatchObject({ steps: 12, failure: 'timeout', policyId: 'micro' });
      expect(r.policyMs).toHaveLength(6);
      expect(labels).toHaveLength(6);
      expect(r.gripper.every((g) => g === 1 || g === -1)).toBe(true); // the graph binarizes the gripper
    } finally {
      await p.close();
      await env.close();
    }
  }, 60_000);

  it('runs the file at int8 on request, and with precision auto times both at load and keeps the faster, saying which', async () => {
    const fp = await StudentRuntime.open(file, { threads: 1 });
    const q = await StudentRuntime.open(file, { threads: 1, precision: 'int8' });
    const lines: string[] = [];
    const auto = await StudentRuntime.open(file, { threads: 1, precision: 'auto', log: (l) => lines.push(l) });
    try {
      expect([fp.precision, q.precision]).toEqual(['fp32', 'int8']);
      expect(fp.precisionTiming).toBeNull();
      const t = auto.precisionTiming!;
      expect(t.fp32Ms).toBeGreaterThan(0);
      expect(t.int8Ms).toBeGreaterThan(0);
      expect(auto.precision).toBe(t.int8Ms < t.fp32Ms ? 'int8' : 'fp32');
      expect(lines.join('\n')).toMatch(new RegExp(`precision auto: fp32 .* ms, int8 .* ms per step on this CPU .*: running ${auto.precision}`));
      const frame = { data: obs(3).agentview_rgb, height: 48, width: 48, channels: 3 as const };
      const a = await fp.act(frame, 'put the bowl on the plate');
      const b = await q.act(frame, 'put the bowl on the plate');
      // int8 weights: close to fp32, not bit-equal (the acceptance check on validation frames is `bench -- int8`)
      expect(b.actions).toHaveLength(a.actions.length);
      expect(Math.max(...a.actions.map((v, i) => Math.abs(v - b.actions[i])))).toBeLessThan(0.5);
      // a policy spec asks for it, and the trial record says which precision ran
      const p = (await makePolicy(PolicySpec.parse({ kind: 'student', file: path.relative(tmp.dir, file), precision: 'int8' }), { seed: 0, baseDir: tmp.dir })) as StudentOnnxPolicy;
      expect(p.runtime.precision).toBe('int8');
      await p.close();
    } finally {
      await Promise.all([fp.release(), q.release(), auto.release()]);
    }
  }, 60_000);

  it('refuses a file of another action width, or not a policy at all, at load', async () => {
    const meta = JSON.parse(readFileSync(path.join(tmp.dir, 'policy.json'), 'utf8'));
    // a model without embedded metadata whose policy.json says the actions are 6-wide (another action space)
    const wide = path.join(tmp.dir, 'wide.onnx');
    writeFileSync(wide, new Uint8Array(0));
    writeFileSync(path.join(tmp.dir, 'wide.json'), JSON.stringify({ ...meta, stats: { ...meta.stats, q01: meta.stats.q01.slice(0, 6), q99: meta.stats.q99.slice(0, 6) } }));
    expect(() => StudentRuntime.readMeta(wide)).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }));
    const junk = path.join(tmp.dir, 'junk.onnx');
    writeFileSync(junk, 'not a model');
    expect(() => StudentRuntime.readMeta(junk)).toThrow(expect.objectContaining({ code: 'CORRUPT_FILE' }));
    expect(() => StudentRuntime.readMeta(path.join(tmp.dir, 'missing.onnx'))).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('refuses another action normalization, or a graph of another action width, naming the file and the field', async () => {
    const meta = JSON.parse(readFileSync(path.join(tmp.dir, 'policy.json'), 'utf8'));
    const withMeta = (name: string, m: unknown) => {
      const f = path.join(tmp.dir, `${name}.onnx`);
      writeFileSync(f, new Uint8Array(0)); // no embedded metadata: policy.json beside it speaks for the file
      writeFileSync(path.join(tmp.dir, `${name}.json`), JSON.stringify(m));
      return f;
    };
    const refusal = (f: string, code: string, field: string, why: RegExp) => {
      try {
        StudentRuntime.readMeta(f);
      } catch (e) {
        const err = e as { code: string; message: string; details: { file: string; field: string } };
        expect(err.code).toBe(code);
        expect(err.details).toMatchObject({ file: f, field });
        expect(err.message).toContain(`${f}: field ${field}: `);
        expect(err.message).toMatch(why);
        return;
      }
      throw new Error(`${f} was accepted`);
    };
    const { q01, q99 } = meta.stats;
    refusal(withMeta('wide6', { ...meta, stats: { ...meta.stats, q01: q01.slice(0, 6), q99: q99.slice(0, 6) } }), 'SHAPE_MISMATCH', 'stats.q01', /6-wide, this protocol drives 7-D actions/);
    // mean/std normalization (no percentile bounds), as other codebases export
    refusal(withMeta('meanstd', { ...meta, stats: { mean: meta.stats.mean, std: meta.stats.std } }), 'UNSUPPORTED', 'stats.q01', /normalized another way \(mean, std\)/);
    refusal(withMeta('inverted', { ...meta, stats: { ...meta.stats, q99: q99.map((v: number, d: number) => (d === 2 ? q01[2] - 1 : v)) } }), 'CORRUPT_FILE', 'stats.q99[2]', /below the lower bound stats\.q01\[2\]/);
    refusal(withMeta('nan', { ...meta, stats: { ...meta.stats, q01: [null, ...q01.slice(1)] } }), 'CORRUPT_FILE', 'stats.q01[0]', /not a finite number/);

    // Valid metadata, but the graph itself emits 6-wide actions: refused when the file is opened, before any trial.
    const S = student.config.image.size;
    const g = new GraphBuilder({ training: false });
    const pixels = g.input('pixels', 'float32', [1, 3, S, S]);
    const tokens = g.input('tokens', 'int64', [1, meta.textLength]);
    const zero = g.mul(g.add(g.reduceSum(pixels, [1, 2, 3], false), g.reduceSum(g.cast(tokens, 'float32'), [1], false)), 0);
    const actions = g.add(zero, g.constant(new Float32Array(4 * 6), [1, 4, 6]));
    const graph6 = path.join(tmp.dir, 'graph6.onnx');
    writeFileSync(graph6, emitOnnx(g, { outputs: { actions }, contrib: false, graphName: 'six_wide' }).bytes);
    writeFileSync(path.join(tmp.dir, 'graph6.json'), JSON.stringify(meta));
    expect(StudentRuntime.readMeta(graph6).runId).toBe(meta.runId); // the metadata alone is fine
    await expect(StudentOnnxPolicy.create(graph6)).rejects.toMatchObject({ code: 'SHAPE_MISMATCH', details: { file: graph6, field: 'outputs.actions' }, message: expect.stringContaining('6-wide') });
  });
});

describe('evaluating a student whose file changed', () => {
  it('sets the old trials aside (kept) and evaluates the new file afresh, instead of resuming stale trials', async () => {
    const { evaluatePolicy } = await import('../../../../electron/engine/evaluate/evaluation.js');
    const { readdirSync } = await import('node:fs');
    const dir = path.join(tmp.dir, 'retrained');
    const policyFile = path.join(dir, 'students', 'r', 'policy.onnx');
    await exportPolicy(student, policyFile);
    const protocol = parseProtocol({ suites: ['object'], tasks: [0], trialsPerTask: 1, maxSteps: { object: 3 }, seed: 0 });
    const entry = { id: 'r', spec: { kind: 'student' as const, file: 'students/r/policy.onnx' } };
    const evalDir = path.join(dir, 'eval', 'r');
    const logs: string[] = [];
    const first = await evaluatePolicy({ entry, protocol, evalDir, baseDir: dir, workers: 1, imageSize: 16, log: (l) => logs.push(l) });
    expect(first.ran).toBe(1);
    expect((await evaluatePolicy({ entry, protocol, evalDir, baseDir: dir, workers: 1, imageSize: 16 })).ran).toBe(0); // same file: resumes
    // "Retrained": another export to the same path (int8 weights: other bytes, same format).
    await exportPolicy(student, policyFile, { int8: true, quantizeMinElements: 0 });
    const again = await evaluatePolicy({ entry, protocol, evalDir, baseDir: dir, workers: 1, imageSize: 16, log: (l) => logs.push(l) });
    expect(again.ran).toBe(1);
    const folders = readdirSync(path.join(dir, 'eval'));
    expect(folders).toHaveLength(2);
    expect(folders).toEqual(expect.arrayContaining(['r', expect.stringMatching(/^r\.previous-[0-9a-f]{12}$/)]));
    expect(logs.some((l) => /student file changed since eval\/r was evaluated/.test(l))).toBe(true);
  }, 120_000);
});
