import { onBeforeUnmount, onMounted, ref, watch, type Ref } from 'vue';
import { CONTROL_HZ } from '../trials/series';

export const SPEEDS = [0.25, 0.5, 1, 2, 4] as const;

/**
 * One cursor for everything on a trial or paired page (the cameras, the timeline): a frame index in
 * [0, last], played at the control rate (20 steps/s, × speed, over the frames kept every `stride` steps).
 * ←/→ step one frame, space plays and pauses, Home/End jump to the ends; keys typed into a form field are
 * left alone.
 */
export function usePlayback(last: Ref<number>, stride: Ref<number> = ref(1)) {
  const frame = ref(0);
  const playing = ref(false);
  const speed = ref<number>(1);
  let raf = 0;
  let prev = 0;
  let carry = 0;

  const clamp = (t: number) => Math.max(0, Math.min(last.value, Math.round(t)));
  function seek(t: number) {
    frame.value = clamp(t);
  }
  function step(d: number) {
    pause();
    seek(frame.value + d);
  }
  function tick(now: number) {
    const dt = (now - prev) / 1000;
    prev = now;
    carry += (dt * CONTROL_HZ * speed.value) / Math.max(1, stride.value);
    const whole = Math.floor(carry);
    if (whole > 0) {
      carry -= whole;
      frame.value = clamp(frame.value + whole);
    }
    if (frame.value >= last.value) playing.value = false;
    if (playing.value) raf = requestAnimationFrame(tick);
  }
  function play() {
    if (playing.value || last.value <= 0) return;
    if (frame.value >= last.value) frame.value = 0; // play again from the start
    playing.value = true;
    carry = 0;
    prev = performance.now();
    raf = requestAnimationFrame(tick);
  }
  function pause() {
    playing.value = false;
    cancelAnimationFrame(raf);
  }
  const toggle = () => (playing.value ? pause() : play());

  function onKey(e: KeyboardEvent) {
    const el = e.target as HTMLElement | null;
    if (el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName))) return;
    if (e.key === 'ArrowLeft') step(-1);
    else if (e.key === 'ArrowRight') step(1);
    else if (e.key === ' ') toggle();
    else if (e.key === 'Home') step(-Infinity);
    else if (e.key === 'End') step(Infinity);
    else return;
    e.preventDefault();
  }
  onMounted(() => window.addEventListener('keydown', onKey));
  onBeforeUnmount(() => {
    pause();
    window.removeEventListener('keydown', onKey);
  });
  watch(last, () => seek(frame.value));
  return { frame, playing, speed, seek, step, play, pause, toggle };
}
export type Playback = ReturnType<typeof usePlayback>;
