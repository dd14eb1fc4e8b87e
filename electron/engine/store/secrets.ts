import { LabError } from '../errors.js';

/**
 * Where secrets (the VLM API key) live. The shell decides: Electron's main process keeps them in the OS
 * keychain through safeStorage (electron/main/keychain-secrets.ts); the CLI and web mode read them from
 * the environment only and refuse to store them, because they have no keychain and a secret is never
 * written in plain text. Secrets never reach the renderer and are never logged.
 */
export interface SecretStore {
  /** Where a secret set now would be kept, or why it cannot be kept. */
  describe(): { canStore: boolean; where: string };
  get(name: SecretName): string | null;
  set(name: SecretName, value: string | null): void;
}

export const SECRET_ENV: Record<SecretName, string> = { vlmApiKey: 'VLA_AD_VLM_API_KEY' };
export type SecretName = 'vlmApiKey';

export class EnvSecretStore implements SecretStore {
  describe() {
    return { canStore: false, where: `environment variable ${SECRET_ENV.vlmApiKey} (this shell has no keychain and never stores keys in plain text)` };
  }
  get(name: SecretName): string | null {
    return process.env[SECRET_ENV[name]] || null;
  }
  set(name: SecretName): void {
    throw new LabError('UNSUPPORTED', `This shell cannot store ${name} safely: set ${SECRET_ENV[name]} in the environment of the server or CLI instead`, { name });
  }
}
