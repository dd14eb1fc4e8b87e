import { defineStore } from 'pinia';
import { ref } from 'vue';
import { ResultTableSchema, type ResultRecord, type ResultTable } from '../../../electron/api/schemas';
import { lab } from '../lab/client';

/** Results of an experiment: tables (success matrices, the paper's tables) and figure data. */
export const useResultsStore = defineStore('results', () => {
  const byExperiment = ref<Record<string, ResultRecord[]>>({});
  const error = ref<string | null>(null);

  async function load(experimentId: string) {
    try {
      byExperiment.value = { ...byExperiment.value, [experimentId]: await lab().call('results.list', { experimentId }) };
    } catch (err) {
      error.value = (err as Error).message;
    }
  }

  /** The newest record of each table id, validated against the contract. */
  function tables(experimentId: string): ResultTable[] {
    const latest = new Map<string, ResultTable>();
    for (const r of byExperiment.value[experimentId] ?? []) {
      if (r.kind !== 'table') continue;
      const t = ResultTableSchema.safeParse(r.value);
      if (t.success) latest.set(t.data.id, t.data);
    }
    return [...latest.values()];
  }

  function latest(experimentId: string, kind: string): unknown {
    const list = (byExperiment.value[experimentId] ?? []).filter((r) => r.kind === kind);
    return list.length ? list[list.length - 1].value : null;
  }

  return { byExperiment, error, load, tables, latest };
});
