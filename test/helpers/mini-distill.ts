import { MICRO } from '../unit/engine/train/helpers.js';

/**
 * The distill settings of the micro experiments in test/integration/jobs: one object task, 3 episodes at
 * 32 px, the offline annotator, the MICRO student for 2 epochs on one thread (reproducible). Tests spread
 * their own changes over it (λ, baseline, trials, ablation).
 */
export const MINI_DISTILL = {
  suites: ['object'],
  tasks: [0],
  episodesPerTask: 3,
  imageSize: 32,
  annotator: 'offline',
  student: MICRO.config,
  studentOverrides: MICRO.configOverrides,
  lambdas: [0.5],
  epochs: 2,
  batchSize: 16,
  threads: 1,
};
