import { syntheticEpisode } from '../../../../electron/engine/data/synthetic-episode.js';
import type { StudentEpisode } from '../../../../electron/engine/train/dataset.js';

/** A `tiny`-er student: 32 px (4 patches), width 32, one layer per tower, K = 4. */
export const MICRO = {
  config: 'tiny',
  configOverrides: {
    image: { size: 32 },
    vision: { width: 32, layers: 1, heads: 2 },
    text: { width: 32, layers: 1, heads: 2 },
    embedDim: 32,
    lora: { rank: 4 },
    head: { hidden: 32, chunk: 4 },
  },
} as const;

/** Episodes the test generates (LIBERO layout, 32 px), with a description per frame from the gripper state. */
export function microDataset(n = 4, length = 24): StudentEpisode[] {
  return Array.from({ length: n }, (_, i) => {
    const episode = syntheticEpisode({ length, seed: 100 + i, imageSize: 32, taskIndex: i % 2, instruction: i % 2 ? 'open the drawer' : 'put the bowl on the plate' });
    const descriptions = Array.from({ length }, (_, t) => (episode.actions[t * 7 + 6] > 0 ? 'holding: the bowl is in the gripper' : 'approaching: the gripper moves to the bowl'));
    return { episode, descriptions };
  });
}
