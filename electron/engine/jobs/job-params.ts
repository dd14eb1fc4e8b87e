import type { z } from 'zod';
import type { JobKind } from '../../api/job-kinds.js';
import { parseOr } from '../errors.js';
import { AnnotateParams } from './kinds/annotate-params.js';
import { CollectParams } from './kinds/collect-params.js';
import { EvaluateParams } from './kinds/evaluate-params.js';
import { RenderVideoParams } from './kinds/render-video-params.js';
import { SelftestParams } from './kinds/selftest-params.js';
import { TrainParams } from './kinds/train-params.js';
import { DistillConfig } from './recipes/distill-config.js';

/**
 * Every job kind's parameter schema, in light files (no simulator, runtime or HDF5 code), so the shell
 * that starts a job checks its parameters first: a bad parameter is an INVALID_INPUT naming it, with no
 * job row and no worker started. The worker parses them again (the same schema) when it runs.
 */
export const JOB_PARAMS = {
  selftest: SelftestParams,
  collect: CollectParams,
  annotate: AnnotateParams,
  train: TrainParams,
  evaluate: EvaluateParams,
  distill: DistillConfig,
  'render-video': RenderVideoParams,
} satisfies Record<JobKind, z.ZodType>;

export function checkJobParams(kind: JobKind, params: unknown): void {
  parseOr(JOB_PARAMS[kind], params ?? {}, kind === 'distill' ? 'distill config' : `${kind}: parameter`);
}
