import { unknownJobKindMessage, type JobKind } from '../../api/job-kinds.js';
import { LabError } from '../errors.js';
import type { JobHandler } from './context.js';

/**
 * Job kinds and where their handlers live. Handlers are imported lazily, so a worker loads only the
 * rooms its job needs. The kinds themselves are listed once, in electron/api/job-kinds.ts: this table
 * must name each of them and nothing else (`satisfies`), so a kind added on one side only fails to compile.
 * Nothing under kinds/ or recipes/ imports this file (the distill recipe calls its stages' typed `run`s).
 */
const handlers = {
  selftest: async () => (await import('./kinds/selftest.js')).selftestJob,
  distill: async () => (await import('./recipes/distill.js')).distillJob,
  collect: async () => (await import('./kinds/collect.js')).collectJob,
  annotate: async () => (await import('./kinds/annotate.js')).annotateJob,
  train: async () => (await import('./kinds/train.js')).trainJob,
  evaluate: async () => (await import('./kinds/evaluate.js')).evaluateJob,
  'render-video': async () => (await import('./kinds/render-video.js')).renderVideoJob,
} satisfies Record<JobKind, () => Promise<JobHandler>>;

export const registeredJobKinds = (): JobKind[] => Object.keys(handlers) as JobKind[];

export const isJobKind = (kind: string): kind is JobKind => Object.hasOwn(handlers, kind);

export async function loadJobHandler(kind: string): Promise<JobHandler> {
  if (!isJobKind(kind)) throw new LabError('INVALID_INPUT', unknownJobKindMessage(kind), { kind });
  return handlers[kind]();
}

