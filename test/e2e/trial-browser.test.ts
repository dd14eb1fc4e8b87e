/// <reference lib="dom" />
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../../electron/server/web-server.js';
import { rendererDir, repoRoot } from '../../electron/cli/paths.js';
import { testLab } from '../helpers/lab.js';
import { trainStudent } from '../../electron/engine/train/trainer.js';
import { exportPolicy, readTrainedStudent } from '../../electron/engine/model/policy.js';
import { MICRO, microDataset } from '../unit/engine/train/helpers.js';
import { compareGeometry } from '../../electron/engine/video/layouts.js';
import { listTrials } from '../../electron/engine/evaluate/trial-browser.js';

/**
 * The trial browser in Chromium on a real micro evaluation made here: a micro student trained for one
 * epoch and exported to ONNX, evaluated with the noisy scripted teacher by the evaluate job (goal task
 * 0, 3 trials, frames kept). Matrix cell → its trials → a failed trial replayed → the paired view.
 */
const artifacts = path.join(repoRoot, 'test', 'e2e', 'artifacts');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];
const TRIALS = 3;
const VIEWPORTS = [
  { width: 1440, height: 900 },
  { width: 1024, height: 700 },
] as const;

let env: ReturnType<typeof testLab>;
let server: WebServer;
let browser: Browser;
let expId: string;

beforeAll(async () => {
  if (!existsSync(path.join(rendererDir, 'index.html'))) throw new Error(`renderer not built at ${rendererDir}: run npm run build first`);
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
  mkdirSync(artifacts, { recursive: true });
  env = testLab('e2e-trials');
  expId = env.lab.store.createExperiment({ name: 'Trial browser', recipe: 'distill', config: {} }).id;
  const dir = env.lab.store.experimentDir(expId);
  const studentDir = path.join(dir, 'students', 'micro');
  await trainStudent(microDataset(2, 12), { ...MICRO, epochs: 1, batchSize: 8, lr: 1e-2, warmupSteps: 1, valFraction: 0.5, threads: 1, seed: 1, runId: 'micro', outDir: studentDir });
  await exportPolicy(readTrainedStudent(studentDir), path.join(studentDir, 'policy.onnx'));
  const job = env.lab.supervisor.start('evaluate', expId, {
    policies: [
      { id: 'teacher', spec: 'teacher:scripted-noisy' },
      { id: 'student', spec: { kind: 'student', file: 'students/micro/policy.onnx' } },
    ],
    suites: ['goal'],
    tasks: [0],
    trials: TRIALS,
    imageSize: 96,
    maxSteps: { goal: 160 },
    workers: 1,
    seed: 4,
  });
  const done = await env.lab.supervisor.waitFor(job.id);
  if (done.status !== 'succeeded') throw new Error(`evaluate: ${done.status} ${JSON.stringify(done.error)}`);
  server = await startWebServer({ lab: env.lab, rendererDir, port: 0 });
  browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}, 170_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
  env?.cleanup();
});

const frameOf = async (page: Page) => Number(await page.getByTestId('frame-index').getAttribute('data-frame'));
const cameraFrame = (page: Page, name = 'agentview') => page.getByTestId(`camera-${name}`).first().getAttribute('data-frame').then(Number);
const chartCursor = (page: Page) => page.getByTestId('step-chart').getAttribute('data-cursor').then(Number);

async function shoot(page: Page, name: string) {
  await page.mouse.move(0, 0); // no tooltip left over from a drag
  for (const v of VIEWPORTS) {
    await page.setViewportSize(v);
    await page.waitForTimeout(150); // the chart resizes on the next frame
    await page.screenshot({ path: path.join(artifacts, `${name}-${v.width}x${v.height}.png`), fullPage: true });
  }
}

describe('trial browser in Chromium', () => {
  it('matrix cell → its trials → a failed trial replayed on one cursor → every policy from the same initial state', async () => {
    const page = await browser.newPage({ viewport: VIEWPORTS[0] });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await page.goto(`${server.url}#/experiments/${expId}`);

    // The success matrix: every rate is a link to its trials; the student's, opened from the keyboard.
    const matrix = page.locator('[data-table-id="matrix"]');
    await expect.poll(() => matrix.getByTestId('matrix-cell-link').count(), { timeout: 15_000 }).toBe(2);
    await shoot(page, 'trials-0-matrix');
    const studentCell = matrix.getByRole('link', { name: /^student, goal task 0/ });
    await studentCell.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('trial-row').count(), { timeout: 15_000 }).toBe(TRIALS);
    expect(page.url()).toContain(`/experiments/${expId}/trials/student/goal/0`);
    const rows = page.getByTestId('trial-row');
    expect(await rows.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-trial'))))).toEqual([0, 1, 2]);
    // Sorting by steps, then filtering by outcome.
    await page.getByTestId('sort-steps').click();
    const steps = await rows.evaluateAll((els) => els.map((e) => Number(e.children[3].textContent)));
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    await page.getByTestId('outcome-filter').selectOption('failure');
    const failed = await page.getByTestId('trial-row').count();
    expect(failed, 'the one-epoch micro student fails some trial of the drawer-free goal task 0').toBeGreaterThan(0);
    expect(await page.getByTestId('trial-row').evaluateAll((els) => els.every((e) => e.getAttribute('data-outcome') === 'failure'))).toBe(true);
    // thumbnails: the final frame of each trial, drawn from its frame pack
    await expect.poll(() => page.getByTestId('trial-row').first().locator('[data-testid="camera-"]').getAttribute('data-frame'), { timeout: 15_000 }).not.toBe('-1');
    await shoot(page, 'trials-1-list');

    // A failed trial: both cameras and the chart on one cursor.
    await page.getByTestId('trial-row').first().getByTestId('trial-link').click();
    await expect.poll(() => cameraFrame(page), { timeout: 15_000 }).toBe(0);
    await expect.poll(() => cameraFrame(page, 'wrist'), { timeout: 15_000 }).toBe(0);
    expect(await page.getByTestId('trial-outcome').textContent()).toMatch(/failed/);
    expect(await page.title()).toMatch(/^Trial · goal task 0 · trial \d+ — VLA-AD Lab$/);
    expect(await chartCursor(page)).toBe(0);
    await page.getByTestId('speed').selectOption('2');
    await page.keyboard.press(' ');
    await expect.poll(() => frameOf(page), { timeout: 10_000 }).toBeGreaterThan(5);
    await page.keyboard.press(' ');
    const at = await frameOf(page);
    await expect.poll(() => cameraFrame(page)).toBe(at);
    await expect.poll(() => cameraFrame(page, 'wrist')).toBe(at);
    await expect.poll(() => chartCursor(page)).toBe(at);
    await page.keyboard.press('ArrowLeft');
    expect(await frameOf(page)).toBe(at - 1);
    await expect.poll(() => cameraFrame(page)).toBe(at - 1);
    await expect.poll(() => chartCursor(page)).toBe(at - 1);
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await frameOf(page)).toBe(at + 1);
    // Dragging on the chart scrubs: the cursor follows the pointer.
    const box = (await page.getByTestId('step-chart').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 4 });
    await page.mouse.up();
    const dragged = await frameOf(page);
    expect(dragged).toBeGreaterThan(at + 1);
    await expect.poll(() => chartCursor(page)).toBe(dragged);
    await expect.poll(() => cameraFrame(page)).toBe(dragged);
    expect(await page.getByTestId('phase-now').count()).toBe(1);
    await shoot(page, 'trials-2-trial');

    const shownInit = Number(/initial state (\d+)/.exec((await page.getByTestId('open-paired').textContent()) ?? '')?.[1]);
    const trialsAtInit = listTrials(env.lab.store, { experimentId: expId, suite: 'goal', taskIndex: 0 }).filter((t) => t.initIndex === shownInit);
    const geometry = compareGeometry(trialsAtInit.length, Math.max(...trialsAtInit.map((t) => t.steps)), 128);
    const [compareWidth, compareHeight] = [geometry.width, geometry.height];
    // A comparison video of this initial state, from the trial page: rendered by the job, played here.
    await page.getByTestId('video-tools').locator('summary').click();
    await page.getByTestId('render-compare-size').selectOption('128');
    await page.getByTestId('render-compare').click();
    const rendered = page.getByTestId('rendered-video');
    await expect.poll(() => rendered.count(), { timeout: 120_000, interval: 500 }).toBe(1);
    await expect.poll(() => rendered.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    await rendered.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect.poll(() => rendered.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 10_000 }).toBeGreaterThan(0.2);
    expect(await rendered.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight])).toEqual([compareWidth, compareHeight]);
    await rendered.evaluate((v: HTMLVideoElement) => v.pause());
    await shoot(page, 'trials-2b-trial-video');

    // Paired: teacher and student from the same initial state, at the same frame index.
    const init = Number(/paired\/goal\/0\/(\d+)/.exec((await page.getByTestId('open-paired').getAttribute('href')) ?? '')?.[1]);
    await page.getByTestId('open-paired').click();
    await expect.poll(() => page.getByTestId('paired-panel').count(), { timeout: 15_000 }).toBe(2);
    expect(await page.getByTestId('paired-panel').evaluateAll((els) => els.map((e) => e.getAttribute('data-policy')))).toEqual(['teacher', 'student']); // the matrix's order: its reference first
    const panelFrames = () => page.getByTestId('paired-panel').evaluateAll((els) => els.map((e) => Number(e.querySelector('[data-testid="camera-agentview"]')?.getAttribute('data-frame'))));
    await expect.poll(panelFrames, { timeout: 15_000 }).toEqual([0, 0]);
    for (let i = 0; i < 7; i++) await page.keyboard.press('ArrowRight');
    expect(await frameOf(page)).toBe(7);
    await expect.poll(panelFrames).toEqual([7, 7]);
    expect(await page.getByTestId('panel-outcome').last().textContent()).toMatch(/failed/);
    expect(init).toBeGreaterThanOrEqual(0);
    await shoot(page, 'trials-3-paired');

    // The video is in the experiment's gallery, with its poster, and plays there too.
    await page.goto(`${server.url}#/experiments/${expId}`);
    const gallery = page.getByTestId('artifact-video');
    await expect.poll(() => gallery.count(), { timeout: 15_000 }).toBe(1);
    expect(await gallery.getAttribute('poster')).toMatch(/videos\/compare-goal-task0-init\d+-128px\.png/);
    await gallery.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect.poll(() => gallery.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 10_000 }).toBeGreaterThan(0.2);
    await shoot(page, 'trials-4-gallery');
    expect(pageErrors).toEqual([]);
  });
});
