import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProtocol, planTrials, remainingTrials } from '../../../../electron/engine/evaluate/protocol.js';
import { appendTrial, readTrials } from '../../../../electron/engine/evaluate/trial-log.js';
import { LabError } from '../../../../electron/engine/errors.js';
import { parseTrialRecord } from '../../../../electron/engine/evaluate/trial.js';
import { record } from './fixtures.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'trial-log-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('trial log (JSON lines)', () => {
  it('round-trips records and reads a missing file as empty', () => {
    const file = path.join(tmp(), 'sub', 'trials.jsonl');
    expect(readTrials(file)).toEqual({ records: [], truncatedLine: null });
    const a = record('p', 'goal', 0, 0, true);
    const b = record('p', 'goal', 0, 1, false);
    appendTrial(file, a);
    appendTrial(file, b);
    expect(readTrials(file)).toEqual({ records: [a, b], truncatedLine: null });
    expect(() => appendTrial(file, { ...a, steps: -3 })).toThrow(LabError);
    expect(readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
  });

  it('a kill mid-write leaves a truncated last line: dropped, reported, and the trial runs again on resume', () => {
    const file = path.join(tmp(), 'trials.jsonl');
    const plan = planTrials(parseProtocol({ suites: ['goal'], tasks: [0], trialsPerTask: 3 }), 'p');
    const recs = plan.map((s) => ({ ...record('p', 'goal', 0, s.trialIndex, true), seed: s.seed }));
    appendTrial(file, recs[0]);
    appendTrial(file, recs[1]);
    const partial = JSON.stringify(recs[2]).slice(0, 40);
    appendFileSync(file, partial);
    const log = readTrials(file);
    expect(log.truncatedLine).toBe(3);
    expect(log.records).toEqual([recs[0], recs[1]]);
    expect(remainingTrials(plan, log.records).map((s) => s.trialIndex)).toEqual([2]);
  });

  it('a bad line in the middle is a corrupt file, named by line', () => {
    const file = path.join(tmp(), 'trials.jsonl');
    const good = JSON.stringify(record('p', 'goal', 0, 0, true));
    writeFileSync(file, `${good}\n{oops\n${good}\n`);
    expect(() => readTrials(file)).toThrow(/trials\.jsonl:2: not JSON/);
    writeFileSync(file, `${good}\n${JSON.stringify({ ...record('p', 'goal', 0, 1, true), success: 'yes' })}\n`);
    expect(() => readTrials(file)).toThrow(/trials\.jsonl:2: success/);
  });

  it('reads records with and without the replay fields, and names a replay series of the wrong length', () => {
    const old = record('p', 'goal', 0, 0, true); // a record from before actions, query steps and predicates were kept
    const steps = old.steps;
    const full = { ...old, actions: Array(steps * 7).fill(0.5), eePos: Array(steps * 3).fill(0), querySteps: [0, 2], predicates: { names: ['open drawer'], series: [0, 0, 0, 0, 1] }, wristFrames: null };
    expect(parseTrialRecord(old)).toEqual(old);
    expect(parseTrialRecord(full)).toEqual(full);
    expect(() => parseTrialRecord({ ...full, actions: Array(7).fill(0) })).toThrow(/actions/);
    expect(() => parseTrialRecord({ ...full, eePos: [0, 0] })).toThrow(/eePos/);
    expect(() => parseTrialRecord({ ...full, querySteps: [2, 1] })).toThrow(/querySteps/);
    expect(() => parseTrialRecord({ ...full, predicates: { names: ['x'], series: [1] } })).toThrow(/predicates/);
  });
});
