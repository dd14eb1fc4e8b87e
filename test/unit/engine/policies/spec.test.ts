import { describe, expect, it } from 'vitest';
import { PolicySpec, TeacherSpec, policySpecFromString } from '../../../../electron/engine/policies/spec.js';
import { makePolicy } from '../../../../electron/engine/policies/make-policy.js';
import { PolicyEntrySchema, samePolicy } from '../../../../electron/engine/evaluate/policy-entry.js';
import { parseDistillConfig, teacherKey } from '../../../../electron/engine/jobs/recipes/distill.js';
import { LabError } from '../../../../electron/engine/errors.js';

const roundTrip = (v: unknown) => PolicySpec.parse(JSON.parse(JSON.stringify(PolicySpec.parse(v))));

describe('PolicySpec', () => {
  it('parses to the same value however often it is stored and read back', () => {
    for (const v of [
      { kind: 'scripted' },
      { kind: 'scripted-noisy' },
      { kind: 'scripted-noisy', noise: {} },
      { kind: 'scripted-noisy', noise: { flipRate: 0.05 }, expert: { retries: 1 } },
      { kind: 'openvla-rest', url: 'http://127.0.0.1:8000', unnormKey: 'libero_goal', gripper: 'openvla' },
      { kind: 'websocket', url: 'ws://127.0.0.1:8000', replanSteps: 5 },
      { kind: 'student', file: 'students/a/policy.onnx' },
      { kind: 'random' },
      'teacher:scripted-noisy',
      'student:students/a/policy.onnx',
    ]) {
      expect(roundTrip(v)).toEqual(PolicySpec.parse(v));
    }
    expect(PolicySpec.parse({ kind: 'scripted-noisy' })).toEqual({ kind: 'scripted-noisy', noise: {} }); // unset noise stays unset
  });

  it('reads the old string forms as the specs they meant', () => {
    expect(PolicySpec.parse('teacher:scripted')).toEqual({ kind: 'scripted' });
    expect(PolicySpec.parse('rest:http://h:1')).toEqual({ kind: 'openvla-rest', url: 'http://h:1' });
    expect(PolicySpec.parse('student:x.onnx')).toEqual({ kind: 'student', file: 'x.onnx', textMode: 'masked', ep: 'cpu', precision: 'fp32' });
    expect(policySpecFromString('ws://h:1')).toEqual({ kind: 'websocket', url: 'ws://h:1' });
  });

  it('refuses bad specs naming the field', () => {
    expect(PolicySpec.safeParse({ kind: 'scripted-noisy', noise: { flipRate: 0.9 } }).success).toBe(false);
    expect(PolicySpec.safeParse({ kind: 'openvla-rest', url: 'not a url' }).success).toBe(false);
    expect(PolicySpec.safeParse({ kind: 'scripted', extra: 1 }).success).toBe(false);
    expect(TeacherSpec.safeParse({ kind: 'noop' }).success).toBe(false); // a baseline is no teacher
    expect(() => PolicySpec.parse('teleport')).toThrow(LabError);
  });

  it('builds each kind with its options', async () => {
    const noisy = await makePolicy(PolicySpec.parse({ kind: 'scripted-noisy', noise: { flipRate: 0.05 } }), { seed: 3 });
    expect(noisy.name).toMatch(/noise\(flip=0\.05,jitter=0\.02/); // set value used, unset ones defaulted by the noise model
    expect((await makePolicy(PolicySpec.parse('noop'), { seed: 0 })).name).toBe('noop');
    expect((await makePolicy(PolicySpec.parse('rest:http://127.0.0.1:9'), { seed: 0 })).name).toBe('openvla-rest:http://127.0.0.1:9');
  });
});

describe('policy entries of the evaluate job', () => {
  it('old {spec: string, textMode} entries name the same policy as their spec objects', () => {
    const old = { id: 's', spec: 'student:students/a/policy.onnx', textMode: 'phase' };
    const now = PolicyEntrySchema.parse({ id: 's', spec: { kind: 'student', file: 'students/a/policy.onnx', textMode: 'phase' } });
    expect(PolicyEntrySchema.parse(old)).toEqual(now);
    expect(samePolicy(old, now)).toBe(true);
    expect(samePolicy({ ...old, textMode: 'masked' }, now)).toBe(false);
    expect(samePolicy({ id: 't', spec: 'teacher:scripted-noisy', textMode: 'masked' }, PolicyEntrySchema.parse({ id: 't', spec: { kind: 'scripted-noisy' } }))).toBe(true);
  });
});

describe('the recipe teacher in fingerprints', () => {
  it('keeps the old string for the scripted teachers, also after the config is stored and read back', () => {
    for (const teacher of [undefined, 'scripted-noisy', { kind: 'scripted-noisy' }, { kind: 'scripted-noisy', noise: {} }]) {
      const c = parseDistillConfig(teacher === undefined ? {} : { teacher });
      expect(teacherKey(c.teacher)).toBe('scripted-noisy');
      expect(teacherKey(parseDistillConfig(JSON.parse(JSON.stringify(c))).teacher)).toBe('scripted-noisy');
    }
    expect(teacherKey(parseDistillConfig({ teacher: 'scripted' }).teacher)).toBe('scripted');
    const tuned = parseDistillConfig({ teacher: { kind: 'scripted-noisy', noise: { flipRate: 0.1 } } }).teacher;
    expect(teacherKey(tuned)).toEqual({ kind: 'scripted-noisy', noise: { flipRate: 0.1 } });
  });
});
