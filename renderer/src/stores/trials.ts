import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { LabInput, LabOutput } from '../../../electron/api/lab-api';
import type { TrialSummary } from '../../../electron/api/schemas';
import { lab } from '../lab/client';

type Detail = LabOutput<'trials.get'>;
const keyOf = (k: LabInput<'trials.get'>) => `${k.experimentId}|${k.policyId}|${k.suite}|${k.taskIndex}|${k.trialIndex}`;

/** Stored trials of evaluations (trials.list / trials.get), kept once loaded: records do not change. */
export const useTrialsStore = defineStore('trials', () => {
  const details = ref<Record<string, Detail>>({});
  const error = ref<string | null>(null);

  async function list(input: LabInput<'trials.list'>): Promise<TrialSummary[]> {
    error.value = null;
    try {
      return await lab().call('trials.list', input);
    } catch (err) {
      error.value = (err as Error).message;
      return [];
    }
  }

  async function get(key: LabInput<'trials.get'>): Promise<Detail | null> {
    const k = keyOf(key);
    if (details.value[k]) return details.value[k];
    error.value = null;
    try {
      const d = await lab().call('trials.get', key);
      details.value = { ...details.value, [k]: d };
      return d;
    } catch (err) {
      error.value = (err as Error).message;
      return null;
    }
  }

  return { details, error, list, get };
});
