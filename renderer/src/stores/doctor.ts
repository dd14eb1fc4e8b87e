import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { DoctorReport } from '../../../electron/api/schemas';
import { lab } from '../lab/client';

/** What the machine has (Electron, ORT providers, ffmpeg, python, VLM, LIBERO), as `vla-ad doctor` says. */
export const useDoctorStore = defineStore('doctor', () => {
  const report = ref<DoctorReport | null>(null);
  const running = ref(false);
  const error = ref<string | null>(null);
  async function run() {
    running.value = true;
    error.value = null;
    try {
      report.value = await lab().call('doctor.run', {});
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      running.value = false;
    }
  }
  return { report, running, error, run };
});
