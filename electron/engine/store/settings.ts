import { VlmSettings, type Settings } from '../../api/schemas.js';
import type { LabStore } from './lab-store.js';
import { SECRET_ENV, type SecretStore } from './secrets.js';

/**
 * The VLM endpoint setting: base URL and model in the database, the API key in the shell's SecretStore.
 * Environment variables win over stored values, so a server or CI run can be configured without the UI.
 */
const VLM_KEY = 'vlm';
const NONE: VlmSettings = { baseUrl: null, model: null };

export function readVlmSettings(store: LabStore): VlmSettings {
  const stored = store.getSetting(VLM_KEY, VlmSettings, NONE);
  return {
    baseUrl: process.env.VLA_AD_VLM_BASE_URL || stored.baseUrl,
    model: process.env.VLA_AD_VLM_MODEL || stored.model,
  };
}

export function settingsView(store: LabStore, secrets: SecretStore): Settings {
  return { vlm: { ...readVlmSettings(store), apiKeySet: secrets.get('vlmApiKey') !== null, keyStorage: secrets.describe() } };
}

export function writeVlmSettings(store: LabStore, secrets: SecretStore, input: VlmSettings & { apiKey?: string | null }): Settings {
  // The key first: if it cannot be stored safely, nothing else changes either.
  if (input.apiKey !== undefined) secrets.set('vlmApiKey', input.apiKey);
  store.setSetting(VLM_KEY, { baseUrl: input.baseUrl, model: input.model });
  return settingsView(store, secrets);
}

/** The environment a job worker gets: how to reach the VLM, key included (over the job pipe, never on disk). */
export function jobEnvironment(store: LabStore, secrets: SecretStore): Record<string, string> {
  const vlm = readVlmSettings(store);
  const env: Record<string, string> = {};
  if (vlm.baseUrl) env.VLA_AD_VLM_BASE_URL = vlm.baseUrl;
  if (vlm.model) env.VLA_AD_VLM_MODEL = vlm.model;
  const key = secrets.get('vlmApiKey');
  if (key) env[SECRET_ENV.vlmApiKey] = key;
  return env;
}
