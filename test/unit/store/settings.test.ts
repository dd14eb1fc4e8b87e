import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LabStore } from '../../../electron/engine/store/lab-store.js';
import { EnvSecretStore, type SecretName, type SecretStore } from '../../../electron/engine/store/secrets.js';
import { jobEnvironment, settingsView, writeVlmSettings } from '../../../electron/engine/store/settings.js';
import { LabError } from '../../../electron/engine/errors.js';
import { tempDir } from '../../helpers/tmp.js';

/** A keychain stand-in with the SecretStore contract (the Electron one needs safeStorage). */
class MemorySecrets implements SecretStore {
  values = new Map<SecretName, string>();
  describe() {
    return { canStore: true, where: 'memory' };
  }
  get(n: SecretName) {
    return this.values.get(n) ?? null;
  }
  set(n: SecretName, v: string | null) {
    if (v === null) this.values.delete(n);
    else this.values.set(n, v);
  }
}

let t: ReturnType<typeof tempDir>;
let store: LabStore;
const saved = { ...process.env };
beforeEach(() => {
  t = tempDir();
  store = new LabStore(t.dir);
  delete process.env.VLA_AD_VLM_BASE_URL;
  delete process.env.VLA_AD_VLM_MODEL;
  delete process.env.VLA_AD_VLM_API_KEY;
});
afterEach(() => {
  store.close();
  t.cleanup();
  process.env = { ...saved };
});

describe('VLM settings', () => {
  it('keeps base URL and model in the database and the key only in the secret store', () => {
    const secrets = new MemorySecrets();
    const view = writeVlmSettings(store, secrets, { baseUrl: 'http://127.0.0.1:8000/v1', model: 'qwen2.5-vl', apiKey: 'sk-secret-123' });
    expect(view.vlm).toMatchObject({ baseUrl: 'http://127.0.0.1:8000/v1', model: 'qwen2.5-vl', apiKeySet: true });
    expect(JSON.stringify(view)).not.toContain('sk-secret-123');
    const rows = store.db.prepare('SELECT value FROM settings').all() as { value: string }[];
    expect(rows.map((r) => r.value).join()).not.toContain('sk-secret-123');
    expect(jobEnvironment(store, secrets)).toEqual({ VLA_AD_VLM_BASE_URL: 'http://127.0.0.1:8000/v1', VLA_AD_VLM_MODEL: 'qwen2.5-vl', VLA_AD_VLM_API_KEY: 'sk-secret-123' });
    // Leaving the key out keeps it; null forgets it.
    writeVlmSettings(store, secrets, { baseUrl: 'http://127.0.0.1:8000/v1', model: 'other' });
    expect(secrets.get('vlmApiKey')).toBe('sk-secret-123');
    writeVlmSettings(store, secrets, { baseUrl: null, model: null, apiKey: null });
    expect(settingsView(store, secrets).vlm).toMatchObject({ baseUrl: null, model: null, apiKeySet: false });
  });

  it('without a keychain refuses to store a key and changes nothing else', () => {
    const secrets = new EnvSecretStore();
    writeVlmSettings(store, secrets, { baseUrl: 'http://a.example/v1', model: 'm' });
    let err: unknown;
    try {
      writeVlmSettings(store, secrets, { baseUrl: 'http://b.example/v1', model: 'n', apiKey: 'sk-x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('UNSUPPORTED');
    expect((err as LabError).message).toContain('VLA_AD_VLM_API_KEY');
    expect(settingsView(store, secrets).vlm.baseUrl).toBe('http://a.example/v1');
  });

  it('environment variables override stored values', () => {
    const secrets = new EnvSecretStore();
    writeVlmSettings(store, secrets, { baseUrl: 'http://a.example/v1', model: 'm' });
    process.env.VLA_AD_VLM_BASE_URL = 'http://env.example/v1';
    process.env.VLA_AD_VLM_API_KEY = 'from-env';
    expect(settingsView(store, secrets).vlm).toMatchObject({ baseUrl: 'http://env.example/v1', model: 'm', apiKeySet: true });
    expect(jobEnvironment(store, secrets).VLA_AD_VLM_API_KEY).toBe('from-env');
  });
});
