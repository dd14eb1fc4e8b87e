import { labMethods, type LabMethod, type LabParsedInput, type LabOutput, type LabResult } from '../api/lab-api.js';
import { LabError, parseOr, serializeError } from './errors.js';
import type { LabStore } from './store/lab-store.js';
import type { JobSupervisor } from './jobs/supervisor.js';
import { runDoctor } from './doctor.js';
import { getTrial, listTrials } from './evaluate/trial-browser.js';
import { parseDistillConfig } from './jobs/recipes/distill-config.js';
import type { SecretStore } from './store/secrets.js';
import { readVlmSettings, settingsView, writeVlmSettings } from './store/settings.js';

type Impl = { [M in LabMethod]: (input: LabParsedInput<M>) => Promise<LabOutput<M>> | LabOutput<M> };

/**
 * The `lab` API's one implementation, shared by the two transports (Electron IPC in electron/main,
 * HTTP in electron/server). It validates what comes in and what goes out against the contract and
 * answers with the wire envelope, a typed error included.
 */
export function createLabHandler(store: LabStore, supervisor: JobSupervisor, secrets: SecretStore) {
  const impl: Impl = {
    'experiments.list': () => store.listExperiments(),
    'experiments.get': ({ id }) => store.getExperiment(id),
    'experiments.create': (input) => store.createExperiment({ ...input, config: input.recipe === 'distill' ? parseDistillConfig(input.config) : input.config }),
    'experiments.rename': ({ id, name }) => store.renameExperiment(id, name),
    'experiments.configure': ({ id, config }) => {
      const exp = store.getExperiment(id);
      // Validate against the recipe and store the full, defaulted settings, so what runs is what is shown.
      const full = exp.recipe === 'distill' ? parseDistillConfig(config) : config;
      return store.configureExperiment(id, full);
    },
    'experiments.delete': ({ id }) => {
      store.deleteExperiment(id);
      return { deleted: true as const };
    },
    'jobs.start': ({ kind, experimentId, params }) => supervisor.start(kind, experimentId, params),
    'jobs.cancel': ({ id }) => supervisor.cancel(id),
    'jobs.resume': ({ id }) => supervisor.resume(id),
    'jobs.list': ({ experimentId }) => store.listJobs(experimentId),
    'jobs.logs': ({ id }) => store.jobLogs(id),
    'artifacts.list': ({ experimentId }) => store.listArtifacts(experimentId),
    'results.list': ({ experimentId, kind }) => {
      store.getExperiment(experimentId);
      return store.listResults(experimentId, kind);
    },
    'trials.list': (filter) => listTrials(store, filter),
    'trials.get': (key) => getTrial(store, key),
    'doctor.run': () => runDoctor({ vlm: { ...readVlmSettings(store), apiKeySet: secrets.get('vlmApiKey') !== null } }),
    'settings.get': () => settingsView(store, secrets),
    'settings.setVlm': (input) => writeVlmSettings(store, secrets, input),
  };

  return async function handle(method: string, rawInput: unknown): Promise<LabResult<unknown>> {
    try {
      if (!Object.hasOwn(labMethods, method)) {
        throw new LabError('NOT_FOUND', `Unknown lab API method "${method}"`, { method });
      }
      const m = method as LabMethod;
      const input = parseOr(labMethods[m].input, rawInput ?? {}, method, 'INVALID_INPUT', { method });
      const value = await (impl[m] as (i: unknown) => unknown)(input);
      return { ok: true, value: parseOr(labMethods[m].output, value, `${method} produced an invalid answer`, 'INTERNAL', { method }) };
    } catch (err) {
      return { ok: false, error: serializeError(databaseIoError(err, store.dataDir)) };
    }
  };
}

/** SQLite's "disk full", I/O and read-only errors as IO_ERROR naming the lab database (what was saved stays: the transaction rolled back). */
function databaseIoError(err: unknown, dataDir: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN)/.test(code)) {
    return new LabError('IO_ERROR', `the lab database in ${dataDir} could not be written (${code}: ${(err as Error).message}); nothing already saved is lost`, { dataDir, errno: code });
  }
  return err;
}

export type LabHandler = ReturnType<typeof createLabHandler>;
