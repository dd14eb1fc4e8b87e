import { z } from 'zod';
import { canonicalJson } from '../util/canonical-json.js';
import { PolicySpec, type PolicySpecInput } from '../policies/spec.js';

/**
 * A policy under evaluation: its id (the folder under eval/ and the policyId of its trial records) and
 * its PolicySpec. Older parameters wrote the spec as a string with the student's test-time text beside
 * it (`{id, spec: "student:…", textMode}`); they parse to the same entry, so stored evaluations resume.
 */
const Entry = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._=-]*$/, 'letters, digits, . _ = - (it names a folder)'),
    spec: PolicySpec,
  })
  .strict();

/** `{id, spec: string, textMode?}` → `{id, spec: {kind: 'student', file, textMode}}` (textMode meant something only for students). */
function fromLegacy(v: unknown): unknown {
  if (!v || typeof v !== 'object' || !('textMode' in v)) return v;
  const { textMode, ...rest } = v as { textMode?: unknown; spec?: unknown };
  const spec = PolicySpec.safeParse(rest.spec);
  if (spec.success && spec.data.kind === 'student' && textMode !== undefined) return { ...rest, spec: { ...spec.data, textMode } };
  return rest;
}

export type PolicyEntry = z.output<typeof Entry>;
export type PolicyEntryInput = { id: string; spec: PolicySpecInput; textMode?: 'masked' | 'phase' };
export const PolicyEntrySchema = z.preprocess(fromLegacy, Entry) as z.ZodType<PolicyEntry, PolicyEntryInput>;

/** Two entries (one possibly stored in the old form) name the same policy. */
export function samePolicy(a: unknown, b: PolicyEntry): boolean {
  const r = PolicyEntrySchema.safeParse(a);
  return r.success && canonicalJson(r.data.spec) === canonicalJson(b.spec);
}
