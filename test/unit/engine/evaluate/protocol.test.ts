import { describe, expect, it } from 'vitest';
import { MAX_STEPS as SIM_MAX_STEPS } from '../../../../electron/engine/sim/task.js';
import { ChunkExecutor } from '../../../../electron/engine/rollout/chunk-executor.js';
import { maxStepsFor, parseProtocol, planTrials, remainingTrials, trialSeed, uniqueTrials, WARMUP_ACTION } from '../../../../electron/engine/evaluate/protocol.js';
import { runTrials } from '../../../../electron/engine/rollout/scheduler.js';
import { parseTrialRecord, trialKey, type TrialRecord } from '../../../../electron/engine/evaluate/trial.js';
import { LabError } from '../../../../electron/engine/errors.js';
import { Rng } from '../../../../electron/engine/util/rng.js';

/** A valid record for a spec, with the outcome a deterministic function of the seed. */
function fakeRecord(spec: ReturnType<typeof planTrials>[number], over: Partial<TrialRecord> = {}): TrialRecord {
  const rng = new Rng(spec.seed);
  const success = rng.next() < 0.6;
  const steps = success ? 20 + rng.int(30) : spec.maxSteps;
  return parseTrialRecord({
    policyId: spec.policyId,
    suite: spec.suite,
    taskIndex: spec.taskIndex,
    trialIndex: spec.trialIndex,
    initIndex: spec.initIndex,
    seed: spec.seed,
    success,
    steps,
    failure: success ? null : 'timeout',
    execution: spec.execution,
    gripper: Array.from({ length: steps }, (_, t) => (t > steps / 2 ? 1 : -1)),
    phases: null,
    policyMs: [rng.uniform(1, 2)],
    simMs: 3,
    frames: null,
    ...over,
  });
}

describe('protocol definition', () => {
  it('defaults to 10 tasks × 20 trials, 10 warm-up no-ops, whole-chunk execution, LIBERO step limits', () => {
    const p = parseProtocol({ suites: ['spatial', 'object', 'goal', 'libero_10'] });
    expect(p.tasks).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(p.trialsPerTask).toBe(20);
    expect(p.warmupSteps).toBe(10);
    expect(p.execution).toEqual({ mode: 'whole' });
    expect(WARMUP_ACTION).toEqual([0, 0, 0, 0, 0, 0, -1]);
    expect(p.suites.map((s) => maxStepsFor(p, s))).toEqual([220, 280, 300, 520]);
    // The simulator's horizon is the protocol's limit plus the warm-up steps, which also go through step().
    for (const [suite, steps] of Object.entries(SIM_MAX_STEPS)) expect(maxStepsFor(p, suite) + p.warmupSteps).toBe(steps);
    expect(parseProtocol({ suites: ['x'], maxSteps: { x: 50 } }).maxSteps.x).toBe(50);
  });

  it('rejects unknown suites and bad fields with the field named', () => {
    expect(() => parseProtocol({ suites: ['libero_90x'] })).toThrow(/no step limit known for suite 'libero_90x'/);
    expect(() => parseProtocol({ suites: ['goal'], trialsPerTask: 0 })).toThrow(/trialsPerTask/);
    expect(() => parseProtocol({ suites: ['goal'], execution: { mode: 'replan', n: 0 } })).toThrow(LabError);
  });

  it('plans trial i from initial state i with a policy-independent seed', () => {
    const p = parseProtocol({ suites: ['spatial', 'goal'], tasks: [0, 3], trialsPerTask: 4, seed: 11 });
    const teacher = planTrials(p, 'teacher');
    const student = planTrials(p, 'student');
    expect(teacher).toHaveLength(2 * 2 * 4);
    expect(teacher.every((s) => s.initIndex === s.trialIndex)).toBe(true);
    expect(teacher.map((s) => s.seed)).toEqual(student.map((s) => s.seed));
    expect(new Set(teacher.map((s) => s.seed)).size).toBe(teacher.length);
    expect(teacher[0]).toMatchObject({ suite: 'spatial', taskIndex: 0, trialIndex: 0, maxSteps: 220, warmupSteps: 10 });
    expect(teacher.at(-1)).toMatchObject({ suite: 'goal', taskIndex: 3, trialIndex: 3, maxSteps: 300 });
    expect(trialSeed(11, 'goal', 3, 3)).toBe(teacher.at(-1)!.seed);
    expect(trialSeed(12, 'goal', 3, 3)).not.toBe(teacher.at(-1)!.seed);
  });
});

describe('resumable trial plan', () => {
  const p = parseProtocol({ suites: ['object'], tasks: [0, 1], trialsPerTask: 5, seed: 3 });
  const plan = planTrials(p, 'student-a');

  it('returns the unfinished trials in plan order, counting a trial written twice once', () => {
    const stored = [plan[0], plan[1], plan[1], plan[6]].map((s) => fakeRecord(s));
    const left = remainingTrials(plan, stored);
    expect(left.map((s) => `${s.taskIndex}/${s.trialIndex}`)).toEqual(['0/2', '0/3', '0/4', '1/0', '1/2', '1/3', '1/4']);
    expect(uniqueTrials(stored)).toHaveLength(3);
    // Other policies' records do not count as progress.
    expect(remainingTrials(plan, plan.map((s) => fakeRecord({ ...s, policyId: 'other' })))).toHaveLength(plan.length);
    expect(remainingTrials(plan, plan.map((s) => fakeRecord(s)))).toEqual([]);
  });

  it('errored trials are finished unless asked to retry, and a later good record supersedes an errored one', () => {
    const errored = fakeRecord(plan[2], { success: false, failure: 'error', errorMessage: 'server died' });
    expect(remainingTrials(plan, [errored]).some((s) => s.trialIndex === 2 && s.taskIndex === 0)).toBe(false);
    expect(remainingTrials(plan, [errored], { retryErrored: true }).some((s) => s.trialIndex === 2 && s.taskIndex === 0)).toBe(true);
    const good = fakeRecord(plan[2]);
    expect(uniqueTrials([errored, good])).toEqual([good]);
    expect(remainingTrials(plan, [errored, good], { retryErrored: true }).some((s) => s.trialIndex === 2 && s.taskIndex === 0)).toBe(false);
  });

  it('a stored trial run under another seed is a conflict', () => {
    const wrong = fakeRecord(plan[0], { seed: plan[0].seed + 1 });
    expect(() => remainingTrials(plan, [wrong])).toThrow(/was run with seed/);
  });
});

describe('trial record schema', () => {
  const spec = planTrials(parseProtocol({ suites: ['goal'], tasks: [0], trialsPerTask: 1 }), 'p')[0];
  it('accepts a full record and names the field at fault otherwise', () => {
    const ok = fakeRecord(spec);
    const phased = { ...ok, phases: { names: ['approaching', 'grasping'], series: ok.gripper.map((_, t) => (t < 5 ? 0 : 1)) } };
    expect(parseTrialRecord(phased).phases!.series[6]).toBe(1);
    expect(() => parseTrialRecord({ ...ok, gripper: ok.gripper.slice(1) })).toThrow(/gripper: gripper series has/);
    expect(() => parseTrialRecord({ ...ok, success: true, failure: 'timeout' })).toThrow(/failure/);
    expect(() => parseTrialRecord({ ...ok, success: false, failure: null })).toThrow(/failure/);
    expect(() => parseTrialRecord({ ...ok, success: false, failure: 'crashed' })).toThrow(/failure/);
    expect(() => parseTrialRecord({ ...ok, policyMs: [NaN] })).toThrow(/policyMs/);
    expect(() => parseTrialRecord({ ...phased, phases: { names: ['a'], series: phased.phases.series } })).toThrow(/phase index outside/);
    const err = (() => {
      try {
        parseTrialRecord({ ...ok, steps: -1 }, 'trials.jsonl:4');
      } catch (e) {
        return e as LabError;
      }
    })();
    expect(err).toBeInstanceOf(LabError);
    expect(err!.code).toBe('CORRUPT_FILE');
    expect(err!.message).toMatch(/^trials\.jsonl:4: steps/);
    expect(trialKey(ok)).toBe(trialKey(spec));
  });
});

/** A K×7 chunk whose row k holds base + k in every dim (gripper included). */
const chunk = (base: number, K: number) => Float32Array.from({ length: K * 7 }, (_, i) => base + Math.floor(i / 7));

describe('ChunkExecutor', () => {
  function drive(ex: ChunkExecutor, steps: number, policy: (t: number) => Float32Array) {
    const actions: number[] = [];
    const queriedAt: number[] = [];
    for (let t = 0; t < steps; t++) {
      if (ex.needsQuery()) {
        queriedAt.push(t);
        ex.push(policy(t));
      }
      actions.push(ex.next()[0]);
    }
    return { actions, queriedAt };
  }

  it('whole: executes every action of the chunk, then re-queries', () => {
    const r = drive(new ChunkExecutor({ mode: 'whole' }), 7, (t) => chunk(100 * t, 3));
    expect(r.queriedAt).toEqual([0, 3, 6]);
    expect(r.actions).toEqual([0, 1, 2, 300, 301, 302, 600]);
  });

  it('replan n: executes the first n actions, then re-queries (a short chunk re-queries early)', () => {
    const r = drive(new ChunkExecutor({ mode: 'replan', n: 2 }), 6, (t) => chunk(100 * t, 4));
    expect(r.queriedAt).toEqual([0, 2, 4]);
    expect(r.actions).toEqual([0, 1, 200, 201, 400, 401]);
    const short = drive(new ChunkExecutor({ mode: 'replan', n: 5 }), 4, (t) => chunk(10 * t, 2));
    expect(short.queriedAt).toEqual([0, 2]);
    const single = drive(new ChunkExecutor({ mode: 'whole' }), 3, (t) => chunk(t, 1));
    expect(single.queriedAt).toEqual([0, 1, 2]);
  });

  it('ensemble: queries every step and averages the predictions for t with weights exp(-k·i), oldest first', () => {
    const k = 0.5;
    const ex = new ChunkExecutor({ mode: 'ensemble', k });
    const r = drive(ex, 4, (t) => chunk(100 * t, 3));
    expect(r.queriedAt).toEqual([0, 1, 2, 3]);
    expect(ex.queries).toBe(4);
    const w = [1, Math.exp(-k), Math.exp(-2 * k)];
    // Step 0: only chunk 0 (row 0) → 0.
    expect(r.actions[0]).toBe(0);
    // Step 1: chunk 0 row 1 (=1, oldest, weight 1) and chunk 1 row 0 (=100, weight e^-k).
    expect(r.actions[1]).toBeCloseTo(Math.fround((1 * w[0] + 100 * w[1]) / (w[0] + w[1])), 4);
    // Step 2: chunk 0 row 2 (2), chunk 1 row 1 (101), chunk 2 row 0 (200).
    expect(r.actions[2]).toBeCloseTo((2 * w[0] + 101 * w[1] + 200 * w[2]) / (w[0] + w[1] + w[2]), 4);
    // Step 3: chunk 0 has expired; chunk 1 row 2 (102), chunk 2 row 1 (201), chunk 3 row 0 (300).
    expect(r.actions[3]).toBeCloseTo((102 * w[0] + 201 * w[1] + 300 * w[2]) / (w[0] + w[1] + w[2]), 4);
    // k = 0: a plain mean.
    const flat = drive(new ChunkExecutor({ mode: 'ensemble', k: 0 }), 3, (t) => chunk(100 * t, 3));
    expect(flat.actions[2]).toBeCloseTo((2 + 101 + 200) / 3, 4);
  });

  it('rejects malformed chunks and stepping without a chunk', () => {
    const ex = new ChunkExecutor({ mode: 'whole' });
    expect(() => ex.next()).toThrow(/query the policy first/);
    expect(() => ex.push(new Float32Array(10))).toThrow(LabError);
    const bad = chunk(0, 2);
    bad[9] = NaN;
    expect(() => ex.push(bad)).toThrow(/row 1 dim 2/);
  });
});

describe('runTrials scheduler', () => {
  const p = parseProtocol({ suites: ['spatial', 'goal'], tasks: [0, 1, 2], trialsPerTask: 4, seed: 5 });
  const plan = planTrials(p, 'student');
  /** Deterministic in the spec; finishes after a spec-dependent delay so workers complete out of order. */
  const runOne = async (spec: (typeof plan)[number]) => {
    await new Promise((r) => setTimeout(r, new Rng(spec.seed ^ 0x5a).int(4)));
    return fakeRecord(spec);
  };

  it('parallel results equal the serial run, in plan order, over any worker count', async () => {
    const serial = await runTrials(plan, runOne, { workers: 1 });
    expect(serial.map(trialKey)).toEqual(plan.map(trialKey));
    for (const workers of [2, 3, 8]) {
      const finishOrder: number[] = [];
      const used = new Set<number>();
      const parallel = await runTrials(
        plan,
        async (s, ctx) => {
          used.add(ctx.worker);
          return runOne(s);
        },
        { workers, onProgress: ({ index }) => void finishOrder.push(index) },
      );
      expect(parallel).toEqual(serial);
      expect(used.size).toBe(workers);
      expect([...finishOrder].sort((a, b) => a - b)).toEqual(plan.map((_, i) => i));
    }
  });

  it('cancel: in-flight trials finish and are reported, then CANCELLED; resume runs exactly the rest', async () => {
    const controller = new AbortController();
    const persisted: TrialRecord[] = [];
    const err = await runTrials(plan, runOne, {
      workers: 3,
      signal: controller.signal,
      onProgress: ({ result, done }) => {
        persisted.push(result);
        if (done === 7) controller.abort();
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(LabError);
    expect(err.code).toBe('CANCELLED');
    expect(persisted.length).toBeGreaterThanOrEqual(7);
    expect(persisted.length).toBeLessThanOrEqual(9);
    const rest = remainingTrials(plan, persisted);
    expect(rest).toHaveLength(plan.length - persisted.length);
    const resumed = await runTrials(rest, runOne, { workers: 2 });
    const all = uniqueTrials([...persisted, ...resumed]);
    expect(all).toHaveLength(plan.length);
    const serial = await runTrials(plan, runOne, { workers: 1 });
    const byKey = new Map(all.map((r) => [trialKey(r), r]));
    expect(serial.map((r) => byKey.get(trialKey(r)))).toEqual(serial);
  });

  it('the first error stops the hand-out and is rethrown', async () => {
    let started = 0;
    const err = await runTrials(
      plan,
      async (s, ctx) => {
        started++;
        if (ctx.index === 2) throw new LabError('REMOTE_ERROR', 'boom');
        return runOne(s);
      },
      { workers: 2 },
    ).catch((e) => e);
    expect(err.code).toBe('REMOTE_ERROR');
    expect(started).toBeLessThan(plan.length);
    await expect(runTrials(plan, runOne, { workers: 0 })).rejects.toThrow(/workers/);
    expect(await runTrials([], runOne, { workers: 4 })).toEqual([]);
  });
});
