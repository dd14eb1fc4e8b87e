import { LabError } from '../../errors.js';
import { SUITES, type SuiteName, type TaskDef } from '../task.js';
import { objectSuite } from './object.js';
import { spatialSuite } from './spatial.js';
import { goalSuite } from './goal.js';

export const SUITE_TASKS: Record<SuiteName, TaskDef[]> = { object: objectSuite, spatial: spatialSuite, goal: goalSuite };

export function isSuite(s: string): s is SuiteName {
  return (SUITES as readonly string[]).includes(s);
}

/** A task by suite and index (0–9) or name. Unknown ids → LabError('NOT_FOUND') naming them. */
export function getTask(suite: string, task: number | string): TaskDef {
  if (!isSuite(suite)) throw new LabError('NOT_FOUND', `unknown suite '${suite}' (known: ${SUITES.join(', ')})`, { suite, known: [...SUITES] });
  const tasks = SUITE_TASKS[suite];
  const found = typeof task === 'number' ? (Number.isInteger(task) ? tasks[task] : undefined) : tasks.find((t) => t.name === task || String(t.index) === task);
  if (!found) {
    throw new LabError('NOT_FOUND', `unknown task '${task}' in suite '${suite}' (tasks 0–${tasks.length - 1} or their names)`, {
      suite,
      task,
      known: tasks.map((t) => t.name),
    });
  }
  return found;
}
