import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseProtocol, planTrials, type TrialSpec } from '../../../../electron/engine/evaluate/protocol.js';
import { runTrials } from '../../../../electron/engine/rollout/scheduler.js';
import { forkWorkerPool } from '../../../../electron/engine/rollout/pool.js';
import * as fake from './fake-trial-handler.js';

const handler = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-trial-handler.ts');
type Result = Awaited<ReturnType<typeof fake.runTrial>>;
const strip = ({ pid: _pid, worker: _worker, ...rest }: Result) => rest;

describe('trial worker processes', () => {
  it('two processes give the serial in-process results, typed arrays intact; crashes and errors are reported', async () => {
    const plan = planTrials(parseProtocol({ suites: ['goal'], tasks: [0, 1], trialsPerTask: 5, seed: 2 }), 'p');
    fake.init({ prefix: 'x:' });
    const serial = await runTrials(plan, (s, ctx) => fake.runTrial(s, ctx), { workers: 1 });
    const pool = forkWorkerPool<TrialSpec, Result>(2, { handler, config: { prefix: 'x:' } });
    try {
      const parallel = await runTrials(plan, pool.runOne, { workers: pool.size });
      expect(parallel.map(strip)).toEqual(serial.map(strip));
      expect(parallel[0].actions).toBeInstanceOf(Float32Array);
      const pids = new Set(parallel.map((r) => r.pid));
      expect(pids.size).toBe(2);
      expect(pids.has(process.pid)).toBe(false);
      // A handler error comes back typed; the process survives.
      await expect(pool.runOne({ ...plan[0], trialIndex: 98 }, { worker: 0, index: 0 })).rejects.toThrow(/handler failed on purpose/);
      // A dead process fails its trial with INTERRUPTED, and a fresh one takes the next trial.
      await expect(pool.runOne({ ...plan[0], trialIndex: 99 }, { worker: 1, index: 0 })).rejects.toMatchObject({ code: 'INTERRUPTED' });
      const again = await pool.runOne(plan[3], { worker: 1, index: 3 });
      expect(strip(again)).toEqual(strip(serial[3]));
      expect(pids.has(again.pid)).toBe(false);
    } finally {
      await pool.close();
    }
  });
});
