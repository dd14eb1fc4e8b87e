import { createLabHandler, type LabHandler } from './lab-service.js';
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

/**
 * Open the lab on a data directory, as its one owner: the lock refuses a second instance, the store
 * migrates, orphaned jobs become interrupted. Every shell (Electron main, web server, CLI) starts here,
 * passing how it starts job workers.
 */
export function openLab(opts: { dataDir: string; owner: string; spawn: SpawnJobProcess; secrets?: SecretStore }): Lab {
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
