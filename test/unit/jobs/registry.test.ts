import { describe, expect, it } from 'vitest';
import { JOB_KINDS } from '../../../electron/api/job-kinds.js';
import { JobKind } from '../../../electron/api/lab-api.js';
import { loadJobHandler, registeredJobKinds } from '../../../electron/engine/jobs/registry.js';
import { LabError } from '../../../electron/engine/errors.js';

describe('job kinds are listed once', () => {
  it('the registry has a handler for each kind of the API, and no other', () => {
    expect([...registeredJobKinds()].sort()).toEqual([...JOB_KINDS].sort());
    expect(JobKind.options).toEqual([...JOB_KINDS]);
  });

  it('an unknown kind is refused by the API and by the registry, naming the known ones', async () => {
    const r = JobKind.safeParse('teleport');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toMatch(/^Unknown job kind "teleport" \(known: selftest, /);
    await expect(loadJobHandler('teleport')).rejects.toThrow(LabError);
    await expect(loadJobHandler('toString')).rejects.toThrow(/Unknown job kind/);
  });
});
