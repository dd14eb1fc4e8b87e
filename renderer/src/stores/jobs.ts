import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { Job, JobEvent } from '../../../electron/api/schemas';
import type { JobKind } from '../../../electron/api/lab-api';
import { lab } from '../lab/client';

/**
 * Jobs: listed once, then kept live by the job-event stream. Jobs run in their own processes, so a
 * reload of this page loses nothing: `refresh` reads their state back.
 */
export const useJobsStore = defineStore('jobs', () => {
  const byId = ref<Record<string, Job>>({});
  const logs = ref<Record<string, string[]>>({});
  const error = ref<string | null>(null);
  let unsubscribe: (() => void) | null = null;

  const all = computed(() => Object.values(byId.value).sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
  const forExperiment = (id: string) => all.value.filter((j) => j.experimentId === id);

  function apply(e: JobEvent) {
    if (e.type === 'job') byId.value = { ...byId.value, [e.job.id]: e.job };
    else logs.value = { ...logs.value, [e.log.jobId]: [...(logs.value[e.log.jobId] ?? []), `[${e.log.level}] ${e.log.line}`].slice(-200) };
  }

  async function refresh() {
    try {
      const list = await lab().call('jobs.list', {});
      byId.value = Object.fromEntries(list.map((j) => [j.id, j]));
    } catch (err) {
      error.value = (err as Error).message;
    }
  }

  function live() {
    if (!unsubscribe) unsubscribe = lab().subscribeJobs(apply);
  }

  async function act(fn: () => Promise<Job>) {
    error.value = null;
    try {
      const job = await fn();
      byId.value = { ...byId.value, [job.id]: job };
      return job;
    } catch (err) {
      error.value = (err as Error).message;
      return undefined;
    }
  }

  const start = (kind: JobKind, experimentId: string | null, params: Record<string, unknown> = {}) =>
    act(() => lab().call('jobs.start', { kind, experimentId, params }));
  const cancel = (id: string) => act(() => lab().call('jobs.cancel', { id }));
  const resume = (id: string) => act(() => lab().call('jobs.resume', { id }));

  return { byId, logs, error, all, forExperiment, refresh, live, start, cancel, resume };
});
