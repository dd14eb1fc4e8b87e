import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG } from '../../../electron/cli/demo.js';
import { ablationRunKey, distillRecipe, parseDistillConfig, studentKey, studentRuns, studentSettings } from '../../../electron/engine/jobs/recipes/distill.js';
import { fingerprints } from '../../../electron/engine/jobs/recipes/pipeline.js';
import { TrainParams } from '../../../electron/engine/jobs/kinds/train-params.js';
import { TrainOptions } from '../../../electron/engine/train/options.js';
import { canonicalJson } from '../../../electron/engine/util/canonical-json.js';

/**
 * Existing experiments keep their fingerprints: the values below were computed with the code of commit
 * 7ad82dc (before typed job kinds and the one student fingerprint; same values with the working tree of the
 * renovation before that change), by a tsx script in a `git worktree` of that commit, over the stages
 * distillJob runs ([...distillStages, taxonomy-ablation, report]) and the taxonomy ablation's run key for 3
 * phases as the ablation stage computed it inline.
 */
const PINNED = {
  default: {
    raw: {},
    stages: ['13f0257afb78402e', 'dc94fc08236fcd6c', '110f981c46cb11a1', 'b08888bdc5b8653a', 'beadaa0e2c470870', '02ae5512e31dce3c'],
    ablation3: 'cb2a5da89e1859da',
  },
  demo: {
    raw: DEMO_CONFIG,
    stages: ['5fc29238b2249ec3', '73ce5f134e9bb0b9', '1ff46b74f0aa4b21', '9a983534f8ce801a', 'a1b3ecae9a2796c2', '9a00890806deb911'],
    ablation3: 'bbea3775eef6a237',
  },
  'teacher as the old string "scripted"': {
    raw: { teacher: 'scripted' },
    stages: ['dfff09986029d35b', 'bd35db98590d8334', '615d33426c0d2740', '0df4a899cc91b387', 'f4902da6097759c1', '7d45270103c17d1c'],
    ablation3: 'dbbffb29af07fa2c',
  },
} as const;

describe('distill fingerprints', () => {
  for (const [name, pin] of Object.entries(PINNED)) {
    it(`are today's for the ${name} config`, () => {
      const c = parseDistillConfig(pin.raw);
      const stages = distillRecipe(c);
      expect(stages.map((s) => s.name)).toEqual(['collect', 'annotate', 'train', 'evaluate', 'taxonomy-ablation', 'report']);
      expect(fingerprints(stages, c)).toEqual(pin.stages);
      expect(ablationRunKey(c, 3)).toBe(pin.ablation3);
      // A stored (parsed) config parses to itself: configuring an experiment with it changes nothing.
      expect(canonicalJson(parseDistillConfig(JSON.parse(JSON.stringify(c))))).toBe(canonicalJson(c));
    });
  }

  it('the student fingerprint is studentSettings under its old names, in both the train stage and the ablation', () => {
    const c = parseDistillConfig(DEMO_CONFIG);
    const train = distillRecipe(c).find((s) => s.name === 'train')!;
    expect(train.settings(c)).toEqual({ ...studentKey(c), runs: studentRuns(c) });
    const s = studentSettings(c);
    expect(studentKey(c)).toEqual({ student: s.config, o: s.configOverrides, init: s.init, epochs: s.epochs, batch: s.batchSize, lr: s.lr, seed: s.seed });
  });
});

describe('training defaults have one home (train/options.ts)', () => {
  it('the train job, the distill config and trainStudent agree', () => {
    const o = TrainOptions.parse({});
    expect({ lr: o.lr, warmupSteps: o.warmupSteps, epochs: o.epochs, batchSize: o.batchSize }).toEqual({ lr: 3e-4, warmupSteps: 20, epochs: 30, batchSize: 32 });
    const p = TrainParams.parse({});
    const c = parseDistillConfig({});
    for (const k of ['lr', 'warmupSteps', 'epochs', 'batchSize', 'lambda', 'valFraction', 'config', 'configOverrides', 'init', 'seed'] as const) expect(p[k]).toEqual(o[k]);
    expect({ lr: c.lr, epochs: c.epochs, batchSize: c.batchSize, student: c.student, studentOverrides: c.studentOverrides }).toEqual({
      lr: o.lr,
      epochs: o.epochs,
      batchSize: o.batchSize,
      student: o.config,
      studentOverrides: o.configOverrides,
    });
  });

  it("what the demo's train stage runs is today's (the train job's parsed params, warm-up 20 from the train job's default)", () => {
    const c = parseDistillConfig(DEMO_CONFIG);
    const r = studentRuns(c)[0];
    const { keepCheckpoints, ep, ...p } = TrainParams.parse({ dataset: 'data', runId: r.runId, descriptions: r.descriptions, lambda: r.lambda, ...studentSettings(c), threads: c.threads });
    expect(keepCheckpoints).toBe(1); // added since: which checkpoints stay on disk, not what is trained
    expect(ep).toBe('cpu'); // added since: the execution provider, cpu as trainStudent's default was then
    // Computed with the train job's schema of commit 7ad82dc on the same params.
    expect(canonicalJson(p)).toBe(
      '{"batchSize":32,"config":"tiny","configOverrides":{"image":{"size":64},"lora":{"rank":0},"text":{"contextLength":96}},"dataset":"data","descriptions":"sidecar","epochs":20,"exportPolicy":true,"init":{"kind":"random","seed":0},"lambda":0.5,"lr":0.001,"runId":"lambda-0.5","seed":0,"valFraction":0.1,"warmupSteps":20}',
    );
  });
});
