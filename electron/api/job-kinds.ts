/**
 * The job kinds, listed once. The engine's registry (electron/engine/jobs/registry.ts) is typed
 * `satisfies Record<JobKind, …>` against this list, so a kind added on one side only fails to compile;
 * the API (lab-api.ts) validates `jobs.start` against it, and the renderer reads it from here (it never
 * imports the engine).
 */
export const JOB_KINDS = ['selftest', 'distill', 'collect', 'annotate', 'train', 'evaluate', 'render-video'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const unknownJobKindMessage = (kind: unknown) => `Unknown job kind "${String(kind)}" (known: ${JOB_KINDS.join(', ')})`;
