import { safeStorage } from 'electron';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LabError } from '../engine/errors.js';
import { writeFileAtomicSync } from '../engine/util/atomic.js';
import { SECRET_ENV, type SecretName, type SecretStore } from '../engine/store/secrets.js';

/**
 * Secrets encrypted with Electron's safeStorage (Keychain, DPAPI, libsecret/kwallet) under the data
 * directory. On Linux without a keyring safeStorage falls back to the `basic_text` backend, which is
 * plain text in disguise: then nothing is stored and the environment variable is the way.
 */
export class KeychainSecretStore implements SecretStore {
  constructor(private readonly dir: string) {}

  private backend(): string {
    return process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'os';
  }

  describe() {
    if (!safeStorage.isEncryptionAvailable()) return { canStore: false, where: `no OS encryption available: use ${SECRET_ENV.vlmApiKey}` };
    if (this.backend() === 'basic_text') return { canStore: false, where: `no keyring found (basic_text backend): use ${SECRET_ENV.vlmApiKey}` };
    return { canStore: true, where: `OS keychain (${this.backend()})` };
  }

  private file(name: SecretName): string {
    return path.join(this.dir, 'secrets', `${name}.bin`);
  }

  get(name: SecretName): string | null {
    const env = process.env[SECRET_ENV[name]];
    if (env) return env;
    const f = this.file(name);
    if (!existsSync(f) || !safeStorage.isEncryptionAvailable()) return null;
    try {
      return safeStorage.decryptString(readFileSync(f));
    } catch {
      return null; // encrypted under another user or keyring: as good as absent
    }
  }

  set(name: SecretName, value: string | null): void {
    if (value === null) {
      rmSync(this.file(name), { force: true });
      return;
    }
    const d = this.describe();
    if (!d.canStore) throw new LabError('UNSUPPORTED', `Refusing to store ${name}: ${d.where}`, { name });
    writeFileAtomicSync(this.file(name), safeStorage.encryptString(value));
  }
}
