import { describe, expect, it } from 'vitest';
import { DEMO_CONFIG } from '../../../electron/cli/demo.js';
import { ablationRunKey, distillRecipe, parseDistillConfig, studentSettings } from '../../../electron/engine/jobs/recipes/distill.js';
import { fingerprints } from '../../../electron/engine/jobs/recipes/pipeline.js';
import { EvaluateParams } from '../../../electron/engine/jobs/kinds/evaluate-params.js';
import { TrainParams } from '../../../electron/engine/jobs/kinds/train-params.js';

/**
 * The recipe's one `ep` setting: passed to its train and evaluate stages, in their fingerprints only
 * when not the default cpu (an EP changes results in the last bits), so experiments from before keep
 * theirs (pinned in distill-fingerprints.test.ts).
 */
describe('distill ep', () => {
  it('defaults to cpu; cpu written out changes no fingerprint', () => {
    const c = parseDistillConfig(DEMO_CONFIG);
    expect(c.ep).toBe('cpu');
    const cpu = parseDistillConfig({ ...DEMO_CONFIG, ep: 'cpu' });
    expect(fingerprints(distillRecipe(cpu), cpu)).toEqual(fingerprints(distillRecipe(c), c));
    expect(ablationRunKey(cpu, 3)).toBe(ablationRunKey(c, 3));
    expect(studentSettings(cpu)).not.toHaveProperty('ep');
  });

  it('auto or cuda is in the train and evaluate settings: they (and what follows) re-run, not collect or annotate', () => {
    const base = parseDistillConfig(DEMO_CONFIG);
    const before = fingerprints(distillRecipe(base), base);
    for (const ep of ['auto', 'cuda'] as const) {
      const c = parseDistillConfig({ ...DEMO_CONFIG, ep });
      const names = distillRecipe(c).map((s) => s.name);
      const after = fingerprints(distillRecipe(c), c);
      // a stage's fingerprint includes those of the stages it depends on: the ablation (after train) and the report follow
      expect(names.filter((_, i) => after[i] === before[i])).toEqual(['collect', 'annotate']);
      const train = distillRecipe(c).find((s) => s.name === 'train')!;
      const evaluate = distillRecipe(c).find((s) => s.name === 'evaluate')!;
      expect(train.settings(c)).toMatchObject({ ep });
      expect(evaluate.settings(c)).toMatchObject({ ep });
      expect(ablationRunKey(c, 3)).not.toBe(ablationRunKey(base, 3));
      // the train stage passes it to the train job, the evaluate stage to the evaluate job
      expect(TrainParams.parse({ ...studentSettings(c), runId: 'x' }).ep).toBe(ep);
    }
    expect(() => parseDistillConfig({ ep: 'gpu' })).toThrow(/ep/);
  });

  it("the train and evaluate jobs take ep (train: default cpu; evaluate: none = each student spec's own)", () => {
    expect(TrainParams.parse({}).ep).toBe('cpu');
    expect(TrainParams.parse({ ep: 'auto' }).ep).toBe('auto');
    const policies = [{ id: 's', spec: 'student:students/s/policy.onnx' }];
    expect(EvaluateParams.parse({ policies }).ep).toBeUndefined();
    expect(EvaluateParams.parse({ policies, ep: 'cuda' }).ep).toBe('cuda');
    expect(() => EvaluateParams.parse({ policies, ep: 'tpu' })).toThrow();
  });
});
