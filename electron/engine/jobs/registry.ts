import { LabError } from '../errors.js';
import type { JobHandler } from './context.js';

/**
 * Job kinds and where their handlers live. Handlers are imported lazily, so a worker loads only the
 * rooms its job needs. Each later stage (collect, annotate, train, evaluate, render-video) adds a line.
 */
const handlers: Record<string, () => Promise<JobHandler>> = {
  selftest: async () => (await import('./kinds/selftest.js')).selftestJob,
  collect: async () => (await import('./kinds/collect.js')).collectJob,
  annotate: async () => (await import('./kinds/annotate.js')).annotateJob,
  evaluate: async () => (await import('./kinds/evaluate.js')).evaluateJob,
  train: async () => (await import('./kinds/train.js')).trainJob,
  distill: async () => (await import('./recipes/distill.js')).distillJob,
};

export const registeredJobKinds = () => Object.keys(handlers);

export async function loadJobHandler(kind: string): Promise<JobHandler> {
  const load = handlers[kind];
  if (!load) throw new LabError('INVALID_INPUT', `Unknown job kind "${kind}" (known: ${Object.keys(handlers).join(', ')})`, { kind });
  return load();
}
