import type { TaskDef } from '../task.js';
import { taskName } from '../task.js';

/**
 * libero_object: pick up one grocery item and place it in the basket. Each scene has the basket, the
 * target item and five other groceries as distractors (the five that follow the target in GROCERIES,
 * cyclically, so each task's cast is fixed).
 */
export const GROCERIES = [
  'alphabet_soup',
  'cream_cheese',
  'salad_dressing',
  'bbq_sauce',
  'ketchup',
  'tomato_sauce',
  'butter',
  'milk',
  'chocolate_pudding',
  'orange_juice',
] as const;

const label = (g: string) => g.replace(/_/g, ' ').replace('bbq', 'bbq');

export const objectSuite: TaskDef[] = GROCERIES.map((target, index) => {
  const instruction = `pick up the ${label(target)} and place it in the basket`;
  const distractors = [1, 2, 3, 4, 5].map((k) => GROCERIES[(index + k) % GROCERIES.length]);
  return {
    suite: 'object',
    index,
    name: taskName(instruction),
    instruction,
    objects: [{ name: 'basket', kind: 'basket' }, ...[target, ...distractors].map((g) => ({ name: g, kind: g }))],
    goal: [{ op: 'In', a: target, b: 'basket' }],
    keepOut: [],
    place(p) {
      // The basket on the far side of the workspace, items in front of it.
      p.onTable('basket', 'basket', { xlo: -0.02, xhi: 0.1, ylo: -0.2, yhi: 0.2 });
      for (const g of [target, ...distractors]) p.onTable(g, g);
    },
  };
});
