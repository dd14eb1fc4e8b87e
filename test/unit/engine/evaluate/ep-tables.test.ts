import { describe, expect, it } from 'vitest';
import { efficiencyFromTrials, latencyTable, trialsProvider } from '../../../../electron/engine/evaluate/report.js';
import { parseTrialRecord, type TrialRecord } from '../../../../electron/engine/evaluate/trial.js';
import { record } from './fixtures.js';

/** The execution provider recorded with each trial flows into Table 3's caption and the latency table. */
const timed = (policy: string, trial: number, ep?: 'cpu' | 'cuda'): TrialRecord => ({ ...record(policy, 'object', 0, trial, false), policyMs: [50, 5, 6], simMs: 10, ...(ep ? { ep } : {}) });

describe('execution provider in the latency tables', () => {
  it('a trial record keeps its ep through parsing (older records have none)', () => {
    expect(parseTrialRecord(JSON.parse(JSON.stringify(timed('s', 0, 'cuda')))).ep).toBe('cuda');
    expect(parseTrialRecord(JSON.parse(JSON.stringify(timed('s', 0)))).ep).toBeUndefined();
    expect(() => parseTrialRecord({ ...timed('s', 0), ep: 'tpu' })).toThrow(/ep/);
  });

  it("Table 3's caption names each student's EP from its trials, the teacher's own provider apart", () => {
    const records = [timed('teacher', 0), timed('teacher', 1), timed('lambda-0.5', 0, 'cuda'), timed('lambda-0.5', 1, 'cuda'), timed('no-vlm', 0, 'cuda')];
    const t = efficiencyFromTrials(
      records,
      [
        { id: 'teacher', params: null, provider: 'plain JavaScript' },
        { id: 'lambda-0.5', label: 'student λ=0.5', params: 1 },
        { id: 'no-vlm', label: 'student, no VLM', params: 1 },
      ],
      { reference: 'teacher', provider: 'the cpu execution provider (onnxruntime-node)' },
    );
    expect(t.notes[0]).toBe('Median (and p95) over timed steps, warm-up excluded, on plain JavaScript for teacher; the cuda execution provider (onnxruntime-node) for student λ=0.5, student, no VLM; speedup vs teacher.');
  });

  it('one provider for every row is named alone; records without ep take the fallback; mixed trials are counted', () => {
    const cpuOnly = efficiencyFromTrials([timed('a', 0, 'cpu'), timed('b', 0, 'cpu')], [{ id: 'a', params: null }, { id: 'b', params: 1 }], { reference: 'a' });
    expect(cpuOnly.notes[0]).toBe('Median (and p95) over timed steps, warm-up excluded, on the cpu execution provider (onnxruntime-node); speedup vs a.');
    const old = efficiencyFromTrials([timed('a', 0), timed('b', 0)], [{ id: 'a', params: null }, { id: 'b', params: 1 }], { reference: 'a', provider: 'cpu' });
    expect(old.notes[0]).toBe('Median (and p95) over timed steps, warm-up excluded, on cpu; speedup vs a.');
    expect(trialsProvider([timed('s', 0, 'cuda'), timed('s', 1, 'cuda'), timed('s', 2, 'cpu')])).toBe('the cuda (2 trials) and cpu (1 trial) execution providers (onnxruntime-node)');
    expect(trialsProvider([timed('s', 0, 'cuda'), timed('s', 1)], 'cpu')).toBe('the cuda (1 trial) and cpu (1 trial) execution providers (onnxruntime-node)');
    expect(trialsProvider([timed('s', 0)])).toBeUndefined();
  });

  it("the evaluate job's latency table notes the EP of the policies whose trials name one", () => {
    const t = latencyTable([timed('teacher', 0), timed('s', 0, 'cuda')], ['teacher', 's'], 10);
    expect(t.notes.at(-1)).toBe('Execution provider: s on the cuda execution provider (onnxruntime-node).');
    expect(latencyTable([timed('teacher', 0)], ['teacher'], 10).notes.some((n) => n.startsWith('Execution provider'))).toBe(false);
  });
});
