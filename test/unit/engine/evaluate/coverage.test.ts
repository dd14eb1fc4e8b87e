import { describe, expect, it } from 'vitest';
import { trainingCoverage } from '../../../../electron/engine/evaluate/coverage.js';
import { trainedOnOf } from '../../../../electron/engine/jobs/kinds/train.js';
import { microDataset } from '../train/helpers.js';

describe('training coverage of a student under an evaluation protocol', () => {
  const trainedOn = { suites: ['object'], tasks: [0, 1, 2].map((taskIndex) => ({ suite: 'object', taskIndex, episodes: 5 })) };

  it('nothing to say when every evaluated task was trained on', () => {
    expect(trainingCoverage({ trainedOn }, ['object'], [0, 2], 's')).toEqual({ known: true, trainedOn, unseen: [], warning: null });
  });

  it('lists unseen tasks of a known suite and names a suite absent from training, in plan order', () => {
    const c = trainingCoverage({ trainedOn }, ['object', 'goal'], [2, 3], 'lambda-0.5');
    expect(c.unseen).toEqual([
      { suite: 'object', taskIndex: 3 },
      { suite: 'goal', taskIndex: 2 },
      { suite: 'goal', taskIndex: 3 },
    ]);
    expect(c.warning).toBe('lambda-0.5: not trained on object/T3, goal/T2, goal/T3 (suite goal is not in its training data); trained on object/T0, object/T1, object/T2; evaluating anyway');
    expect(trainingCoverage({ trainedOn }, ['object'], [7], 'x').warning).toBe('x: not trained on object/T7; trained on object/T0, object/T1, object/T2; evaluating anyway');
  });

  it('a policy file without the field: unknown training suites, still a warning', () => {
    expect(trainingCoverage({}, ['object'], [0], 'old')).toEqual({ known: false, trainedOn: null, unseen: [], warning: 'old: unknown training suites (the policy file does not record them); evaluating anyway' });
  });

  it('the train job records suites and tasks of its dataset, with episode counts, sorted', () => {
    const eps = microDataset(5, 4); // tasks 0, 1, 0, 1, 0 of the synthetic suite
    const suite = eps[0].episode.suite;
    expect(trainedOnOf(eps)).toEqual({ suites: [suite], tasks: [{ suite, taskIndex: 0, episodes: 3 }, { suite, taskIndex: 1, episodes: 2 }] });
  });
});
