import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openLiberoHdf5 } from '../../../electron/engine/data/libero-hdf5.js';
import { failureFile } from '../../../electron/engine/teacher/collect.js';
import { parseTrialRecord } from '../../../electron/engine/evaluate/trial.js';
import { testLab } from '../../helpers/lab.js';
import { referenceAction, startOpenVlaServer } from '../../unit/engine/teacher/protocol-servers.js';

/**
 * One teacher PolicySpec — an OpenVLA REST server with its `unnormKey` and OpenVLA's gripper mapping —
 * passed unchanged to the collect job and to the evaluate job: both send the same unnorm_key, both map
 * the server's [0, 1] gripper to LIBERO's ±1 the same way (run_libero_eval's -sign(2g − 1)).
 * The server is a real local HTTP server speaking deploy.py's protocol, with a deterministic policy
 * (protocol-servers.ts), so episodes fail; collect keeps the failures to look at.
 */
let t: ReturnType<typeof testLab>;
let server: Awaited<ReturnType<typeof startOpenVlaServer>>;
beforeAll(async () => {
  t = testLab('teacher-spec test');
  server = await startOpenVlaServer('ok');
});
afterAll(async () => {
  await server.close();
  t.cleanup();
});

describe('a teacher spec shared by collect and evaluate', () => {
  it('collects and is evaluated with the same unnormKey and gripper mapping', async () => {
    const { lab } = t;
    const teacher = { kind: 'openvla-rest', url: server.url, unnormKey: 'libero_object', gripper: 'openvla', timeoutMs: 10_000 };
    const exp = lab.store.createExperiment({ name: 'rest-teacher', recipe: 'distill', config: {} });
    const expDir = lab.store.experimentDir(exp.id);

    const collect = await lab.supervisor.waitFor(
      lab.supervisor.start('collect', exp.id, { suite: 'object', tasks: [0], episodesPerTask: 1, teacher, imageSize: 16, maxSteps: 6, keepFailures: true, workers: 1 }).id,
    );
    expect(collect.status, JSON.stringify(collect.error)).toBe('succeeded');
    const collectRequests = server.requests.length;
    expect(collectRequests).toBe(6); // one query per step: deploy.py answers one action

    const evaluate = await lab.supervisor.waitFor(
      lab.supervisor.start('evaluate', exp.id, { policies: [{ id: 'teacher', spec: teacher }], suites: ['object'], tasks: [0], trials: 1, maxSteps: { object: 6 }, workers: 1, imageSize: 16 }).id,
    );
    expect(evaluate.status, JSON.stringify(evaluate.error)).toBe('succeeded');
    expect(server.requests.length).toBe(collectRequests + 6);

    // The same unnorm_key on every request of both jobs.
    expect(new Set(server.requests.map((r) => r.unnorm_key))).toEqual(new Set(['libero_object']));

    // The same gripper mapping: the executed gripper command is -sign(2g - 1) of the server's g, in both.
    const expected = (r: Record<string, unknown>) => {
      const img = r.image as { __numpy__: string };
      const g = referenceAction(new Uint8Array(Buffer.from(img.__numpy__, 'base64')), String(r.instruction))[6];
      return -Math.sign(2 * g - 1);
    };
    const collectedGripper = await (async () => {
      const reader = await openLiberoHdf5(failureFile(path.join(expDir, 'data'), 'object', 0, 'task'));
      try {
        const ep = reader.readEpisode(reader.demoKeys[0]);
        return Array.from({ length: ep.length }, (_, k) => ep.actions[k * 7 + 6]);
      } finally {
        reader.close();
      }
    })();
    expect(collectedGripper).toEqual(server.requests.slice(0, collectRequests).map(expected));
    const trial = parseTrialRecord(JSON.parse(readFileSync(path.join(expDir, 'eval', 'teacher', 'trials.jsonl'), 'utf8').trim().split('\n')[0]));
    expect(trial.gripper).toEqual(server.requests.slice(collectRequests).map(expected));
    // The stored evaluation names the spec as given (defaults filled), so a resume compares like with like.
    const stored = JSON.parse(readFileSync(path.join(expDir, 'eval', 'teacher', 'evaluation.json'), 'utf8'));
    expect(stored.policy).toEqual({ id: 'teacher', spec: teacher });
  }, 120_000);
});
