import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { Artifact, Experiment } from '../../../electron/api/schemas';
import { lab } from '../lab/client';

/** Experiments: the list, and create / rename / delete through the lab API. */
export const useExperimentsStore = defineStore('experiments', () => {
  const items = ref<Experiment[]>([]);
  const artifacts = ref<Record<string, Artifact[]>>({});
  const loading = ref(false);
  const error = ref<string | null>(null);

  async function guard<T>(fn: () => Promise<T>): Promise<T | undefined> {
    error.value = null;
    try {
      return await fn();
    } catch (err) {
      error.value = (err as Error).message;
      return undefined;
    }
  }

  async function refresh() {
    loading.value = true;
    await guard(async () => {
      items.value = await lab().call('experiments.list', {});
    });
    loading.value = false;
  }

  const create = (name: string) =>
    guard(async () => {
      const e = await lab().call('experiments.create', { name });
      items.value = [e, ...items.value];
      return e;
    });

  const rename = (id: string, name: string) =>
    guard(async () => {
      const e = await lab().call('experiments.rename', { id, name });
      items.value = items.value.map((x) => (x.id === id ? e : x));
    });

  const configure = (id: string, config: Record<string, unknown>) =>
    guard(async () => {
      const e = await lab().call('experiments.configure', { id, config });
      items.value = items.value.map((x) => (x.id === id ? e : x));
      return e;
    });

  const remove = (id: string) =>
    guard(async () => {
      await lab().call('experiments.delete', { id });
      items.value = items.value.filter((x) => x.id !== id);
    });

  const loadArtifacts = (id: string) =>
    guard(async () => {
      artifacts.value = { ...artifacts.value, [id]: await lab().call('artifacts.list', { experimentId: id }) };
    });

  return { items, artifacts, loading, error, refresh, create, rename, configure, remove, loadArtifacts };
});
