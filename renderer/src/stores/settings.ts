import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { Settings } from '../../../electron/api/schemas';
import { lab } from '../lab/client';

/** The VLM endpoint settings. The API key goes in, never comes back: only whether one is set. */
export const useSettingsStore = defineStore('settings', () => {
  const settings = ref<Settings | null>(null);
  const error = ref<string | null>(null);
  const saved = ref(false);
  async function load() {
    try {
      settings.value = await lab().call('settings.get', {});
    } catch (err) {
      error.value = (err as Error).message;
    }
  }
  async function saveVlm(input: { baseUrl: string | null; model: string | null; apiKey?: string | null }) {
    error.value = null;
    saved.value = false;
    try {
      settings.value = await lab().call('settings.setVlm', input);
      saved.value = true;
    } catch (err) {
      error.value = (err as Error).message;
    }
  }
  return { settings, error, saved, load, saveVlm };
});
