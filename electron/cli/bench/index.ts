import type { BenchReport } from './report.js';

/**
 * The benchmark suites, by name (`npm run bench -- <suite>`). Each room adds its own file here and one
 * line to this table; a suite is loaded only when asked for, so a missing peer (PyTorch, h5py) only
 * affects its own suite.
 */
export type BenchSuite = (args: string[]) => Promise<BenchReport>;

export const benchSuites: Record<string, () => Promise<BenchSuite>> = {
  graph: async () => (await import('./graph.js')).default,
  annotate: async () => (await import('./annotate.js')).default,
  collect: async () => (await import('./collect.js')).default,
  sim: async () => (await import('./sim.js')).default,
  student: async () => (await import('./student.js')).default,
  expert: async () => (await import('./expert.js')).default,
  eval: async () => (await import('./eval.js')).default,
  int8: async () => (await import('./int8.js')).default,
  train: async () => (await import('./train.js')).default,
  gpu: async () => (await import('./gpu.js')).default,
  video: async () => (await import('./video.js')).default,
};
