import { openLiberoHdf5 } from './libero-hdf5.js';
import { datasetStats, type DatasetStats } from './stats.js';

/** Statistics of LIBERO-layout files from their actions alone (no image is read). */
export async function datasetStatsFromFiles(files: string[], opts: { flipWindow?: number; histogramBins?: number } = {}): Promise<DatasetStats & { files: string[] }> {
  const episodes: { actions: Float32Array; length: number }[] = [];
  for (const file of files) {
    const reader = await openLiberoHdf5(file);
    try {
      for (const key of reader.demoKeys) {
        const actions = reader.readActions(key);
        episodes.push({ actions, length: actions.length / 7 });
      }
    } finally {
      reader.close();
    }
  }
  return { ...datasetStats(episodes, opts), files };
}
