import { createLabHandler, type LabHandler } from './lab-service.js';
import { labMethods } from '../api/lab-api.js';
import { LabError, serializeError } from './errors.js';
import { DataDirLock, ensureDataDir } from './store/data-dir.js';
import { LabStore } from './store/lab-store.js';
import { JobSupervisor } from './jobs/supervisor.js';
import type { SpawnJobProcess } from './jobs/protocol.js';
import { EnvSecretStore, type SecretStore } from './store/secrets.js';
import { jobEnvironment } from './store/settings.js';

export interface Lab {
  dataDir: string;
  store: LabStore;
  supervisor: JobSupervisor;
  handle: LabHandler;
  secrets: SecretStore;
  close(): void;
}

/** The API methods that only read: all a read-only lab answers. */
const READ_ONLY_METHODS = new Set(['experiments.list', 'experiments.get', 'jobs.list', 'jobs.logs', 'artifacts.list', 'results.list', 'trials.list', 'trials.get', 'doctor.run', 'settings.get']);

/**
 * Open the lab on a data directory, as its one owner: the lock refuses a second instance, the store
 * migrates, orphaned jobs become interrupted. Every shell (Electron main, web server, CLI) starts here,
 * passing how it starts job workers.
 *
 * `readOnly: true` is for commands that only read (`experiment list`, `job list`): it takes no lock (so it
 * also works beside a running owner), creates and migrates nothing, leaves jobs as they are, works on a
 * read-only data directory, and answers every API method that writes with an UNSUPPORTED error. Without it,
 * a data directory that cannot be written is an IO_ERROR naming it.
 */
export function openLab(opts: { dataDir: string; owner: string; spawn: SpawnJobProcess; secrets?: SecretStore; readOnly?: boolean }): Lab {
  if (opts.readOnly) return openReadOnlyLab(opts);
  ensureDataDir(opts.dataDir);
  const lock = DataDirLock.acquire(opts.dataDir, opts.owner);
  let store: LabStore;
  try {
    store = new LabStore(opts.dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const secrets = opts.secrets ?? new EnvSecretStore();
  const supervisor = new JobSupervisor(store, opts.spawn, () => jobEnvironment(store, secrets));
  return {
    dataDir: opts.dataDir,
    store,
    supervisor,
    secrets,
    handle: createLabHandler(store, supervisor, secrets),
    close() {
      supervisor.shutdown();
      store.close();
      lock.release();
    },
  };
}

function openReadOnlyLab(opts: { dataDir: string; spawn: SpawnJobProcess; secrets?: SecretStore }): Lab {
  const store = new LabStore(opts.dataDir, { readOnly: true });
  const secrets = opts.secrets ?? new EnvSecretStore();
  const refuse: SpawnJobProcess = () => {
    throw new LabError('UNSUPPORTED', `The lab in ${opts.dataDir} is open read-only: it starts no jobs`, { dataDir: opts.dataDir });
  };
  const supervisor = new JobSupervisor(store, refuse, () => jobEnvironment(store, secrets)); // marks nothing: the store is read-only
  const inner = createLabHandler(store, supervisor, secrets);
  const handle: LabHandler = async (method, input) => {
    if (Object.hasOwn(labMethods, method) && !READ_ONLY_METHODS.has(method)) {
      return {
        ok: false,
        error: serializeError(new LabError('UNSUPPORTED', `The lab in ${opts.dataDir} is open read-only; ${method} writes — run it without read-only`, { dataDir: opts.dataDir, method })),
      };
    }
    return inner(method, input);
  };
  return {
    dataDir: opts.dataDir,
    store,
    supervisor,
    secrets,
    handle,
    close() {
      store.close();
    },
  };
}
