import type { PolicyMeta, TrainedOn } from '../model/policy-meta.js';

/**
 * Was a student trained on what it is evaluated on? (issue 8, "Bad input": a suite it was not trained on
 * warns and still runs.) Evaluating a student on other tasks is a legitimate experiment (generalization),
 * so nothing is refused: the gap is logged, kept in the evaluation folder's evaluation.json, in the job's
 * result and in the success matrix's notes, so a table never silently mixes seen and unseen tasks.
 */
export interface TrainingCoverage {
  /** False for a policy file without `trainedOn` (exported before the field existed): unknown training suites. */
  known: boolean;
  trainedOn: TrainedOn | null;
  /** Evaluated (suite, task) pairs absent from the training data, plan order. */
  unseen: { suite: string; taskIndex: number }[];
  /** The warning to show, or null when every evaluated task was trained on. */
  warning: string | null;
}

const list = (pairs: readonly { suite: string; taskIndex: number }[]) => pairs.map((p) => `${p.suite}/T${p.taskIndex}`).join(', ');

export function trainingCoverage(meta: Pick<PolicyMeta, 'trainedOn'>, suites: readonly string[], tasks: readonly number[], label: string): TrainingCoverage {
  const t = meta.trainedOn;
  if (!t) return { known: false, trainedOn: null, unseen: [], warning: `${label}: unknown training suites (the policy file does not record them); evaluating anyway` };
  const seen = new Set(t.tasks.map((x) => `${x.suite}\u0000${x.taskIndex}`));
  const unseen = suites.flatMap((suite) => tasks.filter((taskIndex) => !seen.has(`${suite}\u0000${taskIndex}`)).map((taskIndex) => ({ suite, taskIndex })));
  const otherSuites = suites.filter((s) => !t.suites.includes(s));
  const warning =
    unseen.length === 0
      ? null
      : `${label}: not trained on ${list(unseen)}${otherSuites.length ? ` (suite ${otherSuites.join(', ')} is not in its training data)` : ''}; trained on ${list(t.tasks)}; evaluating anyway`;
  return { known: true, trainedOn: t, unseen, warning };
}
