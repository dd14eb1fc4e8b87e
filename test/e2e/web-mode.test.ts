/// <reference lib="dom" />
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, _electron, type Browser, type Page } from 'playwright-core';
import { startWebServer, type WebServer } from '../../electron/server/web-server.js';
import { rendererDir, repoRoot } from '../../electron/cli/paths.js';
import { testLab } from '../helpers/lab.js';
import { writeLiberoHdf5 } from '../../electron/engine/data/libero-hdf5.js';
import { syntheticDataset } from '../../electron/cli/bench/fixtures/synthetic-phases.js';
import { encodeMp4, sideBySide } from '../../electron/engine/video/encode.js';
import { startFakeVlm, type FakeVlm } from '../../electron/cli/bench/fixtures/fake-vlm.js';
import { writeVlmSettings } from '../../electron/engine/store/settings.js';

/**
 * The renderer in a real browser: web mode over the built renderer (npm run build), Debian's Chromium
 * driven by playwright-core. Creates an experiment, runs the self-test job, watches its progress bar
 * reach done, and saves a screenshot. Where an Electron binary exists, the same flow runs in Electron.
 */
const artifacts = path.join(repoRoot, 'test', 'e2e', 'artifacts');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

async function createExperimentAndRunSelftest(page: Page, name: string): Promise<void> {
  await page.getByTestId('new-experiment-name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  const row = page.getByTestId('experiment-row').filter({ hasText: name });
  await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
  await row.getByTestId('run-selftest').click();
  const jobRow = page.getByTestId('job-row').first();
  // The progress bar moves through its stages and ends at 100% with status succeeded.
  await expect.poll(() => jobRow.getByTestId('job-status').textContent(), { timeout: 120_000, interval: 250 }).toBe('succeeded');
  await expect.poll(() => jobRow.getByRole('progressbar').getAttribute('aria-valuenow'), { timeout: 5_000 }).toBe('100');
}

describe('web mode in Chromium', () => {
  let env: ReturnType<typeof testLab>;
  let server: WebServer;
  let browser: Browser;
  // The VLM the Settings page is pointed at: a local OpenAI-compatible server (annotate has no silent fallback).
  let vlm: FakeVlm;

  beforeAll(async () => {
    vlm = await startFakeVlm();
    if (!existsSync(path.join(rendererDir, 'index.html'))) throw new Error(`renderer not built at ${rendererDir}: run npm run build first`);
    if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`);
    mkdirSync(artifacts, { recursive: true });
    env = testLab('e2e');
    server = await startWebServer({ lab: env.lab, rendererDir, port: 0 });
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await vlm?.close();
    env?.cleanup();
  });

  it('creates an experiment, runs the self-test to done, survives a reload, and shows the doctor', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
    await expect.poll(() => page.getByRole('heading', { name: 'Experiments' }).count()).toBe(1);
    // The token left the address bar once read.
    expect(page.url()).not.toContain('token=');

    await createExperimentAndRunSelftest(page, 'E2E distill run');
    expect(await page.title()).toBe('Experiments — VLA-AD Lab');
    // The finished job's log, as the lab stored it, with a level filter.
    await page.getByTestId('job-row').first().getByTestId('job-logs').click();
    await expect.poll(() => page.getByTestId('log-line').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await page.getByTestId('log-level').selectOption('error');
    await expect.poll(() => page.getByTestId('job-log').locator('.empty').count()).toBe(1);
    await page.getByTestId('log-level').selectOption('all');
    const shot = path.join(artifacts, 'web-experiments-finished-job.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');

    // A reload keeps the experiment and the finished job (they live in the lab, not the page).
    await page.reload();
    await expect.poll(() => page.getByTestId('experiment-row').filter({ hasText: 'E2E distill run' }).count()).toBe(1);
    await expect.poll(() => page.getByTestId('job-status').first().textContent()).toBe('succeeded');

    // Rename through the UI.
    const row = page.getByTestId('experiment-row').filter({ hasText: 'E2E distill run' });
    await row.getByRole('button', { name: 'Rename' }).click();
    await page.getByTestId('rename-input').fill('E2E renamed');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByTestId('experiment-row').filter({ hasText: 'E2E renamed' }).count()).toBe(1);

    // Doctor panel lists the checks, ONNX Runtime CPU among them and present.
    await page.getByRole('link', { name: 'Doctor' }).click();
    const ortRow = page.getByTestId('doctor-check').filter({ hasText: 'ONNX Runtime CPU' });
    await expect.poll(() => ortRow.getAttribute('data-ok'), { timeout: 60_000 }).toBe('true');
    await page.screenshot({ path: path.join(artifacts, 'web-doctor.png'), fullPage: true });

    // Settings: web mode has no keychain, so a key is refused with a clear message and the URL still saves.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByTestId('vlm-base-url').fill(vlm.url);
    await page.getByTestId('vlm-model').fill('qwen2.5-vl-7b-instruct');
    await page.getByTestId('vlm-api-key').fill('sk-should-not-be-stored');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByTestId('settings-error').textContent()).toContain('VLA_AD_VLM_API_KEY');
    await page.getByTestId('vlm-api-key').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByText('Saved.').count()).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it('annotates an experiment\'s data from its page and shows the results: granularity chart and a success matrix', async () => {
    const exp = env.lab.store.createExperiment({ name: 'E2E results', recipe: 'distill', config: {} });
    const dir = env.lab.store.experimentDir(exp.id);
    await writeLiberoHdf5(path.join(dir, 'data', 'synthetic', 'task_0.hdf5'), syntheticDataset(2, 5, { imageSize: 16 }).map((s) => s.episode));
    env.lab.store.addResult({
      experimentId: exp.id,
      kind: 'table',
      value: {
        id: 'matrix-object',
        title: 'Success per task (object suite)',
        columns: ['Task', 'Teacher', 'Student'],
        rows: [
          [{ text: 'alphabet soup', value: null }, { text: '90.0', value: 0.9, n: 20 }, { text: '35.0', value: 0.35, n: 20 }],
          [{ text: 'cream cheese', value: null }, { text: '80.0', value: 0.8, n: 20 }, { text: '85.0', value: 0.85, bold: true, mark: '*', n: 20 }],
        ],
        notes: ['stored by the E2E test to check rendering'],
      },
    });
    // A side-by-side clip, as the video stage renders them: it must play in the page.
    const frames = Array.from({ length: 20 }, (_, i) => {
      const half = (rgb: number[]) => ({ data: new Uint8Array(64 * 64 * 3).map((_, k) => rgb[k % 3]), width: 64, height: 64 });
      return sideBySide([half([200, 40 + 8 * i, 40]), half([40, 40, 200 - 4 * i])]).data;
    });
    await encodeMp4(path.join(dir, 'videos', 'teacher-vs-student.mp4'), frames, { width: 132, height: 64, fps: 20 });
    env.lab.store.addArtifact({ experimentId: exp.id, jobId: null, kind: 'video', relPath: 'videos/teacher-vs-student.mp4', meta: { title: 'teacher | student' } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}#/experiments/${exp.id}`);
    await expect.poll(() => page.getByTestId('result-table').count()).toBe(1);
    const cell = page.getByTestId('result-table').locator('td', { hasText: '85.0' });
    expect(await cell.evaluate((el) => getComputedStyle(el).fontWeight)).toBe('700');
    expect(await cell.evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe('rgba(0, 0, 0, 0)');

    const video = page.getByTestId('artifact-video');
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await video.evaluate((v: HTMLVideoElement) => v.duration)).toBeCloseTo(1, 1);

    // Annotates through the configured VLM (the one the first test saves on the Settings page), over its real protocol.
    writeVlmSettings(env.lab.store, env.lab.secrets, { baseUrl: vlm.url, model: 'qwen2.5-vl-7b-instruct' });
    const before = vlm.requests.length;
    await page.getByTestId('run-annotate').click();
    await expect.poll(() => page.getByTestId('job-status').first().textContent(), { timeout: 120_000, interval: 250 }).toBe('succeeded');
    expect(vlm.requests.length).toBeGreaterThan(before);
    await expect.poll(() => page.getByTestId('granularity-chart').count(), { timeout: 10_000 }).toBe(1);
    await page.getByLabel('Taxonomy').selectOption('13');
    // The execution provider is a setting of the page, saved into the recipe's config.
    await page.getByTestId('ep-select').selectOption('auto');
    await expect.poll(() => page.getByTestId('config-editor').inputValue()).toContain('"ep": "auto"');
    await page.screenshot({ path: path.join(artifacts, 'web-experiment-results.png'), fullPage: true });
    expect(await page.getByTestId('artifact').count()).toBeGreaterThanOrEqual(2);
    expect(pageErrors).toEqual([]);
  });
});

// Playwright's _electron where an Electron binary is installed (npm run install:electron); absent here.
function electronBinary(): string | null {
  try {
    const dir = path.dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    const txt = path.join(dir, 'path.txt');
    const bin = existsSync(txt) ? path.join(dir, 'dist', readFileSync(txt, 'utf8').trim()) : null;
    return bin && existsSync(bin) ? bin : null;
  } catch {
    return null;
  }
}

describe.runIf(electronBinary() !== null)('Electron shell', () => {
  it('runs the same flow through the preload bridge', async () => {
    const env = testLab('e2e-electron-datadir');
    env.lab.close(); // the Electron app opens the data directory itself
    const app = await _electron.launch({
      executablePath: electronBinary()!,
      args: [path.join(repoRoot, 'out', 'main', 'index.js'), `--data-dir=${path.join(env.dir, 'data')}`, '--no-sandbox'],
    });
    try {
      const page = await app.firstWindow();
      expect(await page.evaluate(() => typeof (globalThis as unknown as { lab?: unknown }).lab)).toBe('object');
      expect(await page.evaluate(() => typeof (globalThis as unknown as { require?: unknown }).require)).toBe('undefined');
      await createExperimentAndRunSelftest(page, 'Electron run');
      await page.screenshot({ path: path.join(artifacts, 'electron-experiments-finished-job.png') });
      // Collect and evaluate in 2 worker processes each, from the packaged layout's utility processes, through the bridge.
      const outcome = await page.evaluate(async () => {
        type Result = { ok: boolean; value?: { id: string; status?: string; error?: unknown; result?: unknown }; error?: unknown };
        const bridge = (globalThis as unknown as { lab: Record<string, (input: unknown) => Promise<Result>> }).lab;
        const exp = await bridge['experiments.create']({ name: 'Electron workers' });
        const experimentId = exp.value!.id;
        const waitFor = async (id: string) => {
          for (;;) {
            const list = await bridge['jobs.list']({ experimentId });
            const j = (list.value as unknown as { id: string; status: string; error: unknown; result: unknown }[]).find((x) => x.id === id)!;
            if (!['queued', 'running'].includes(j.status)) return j;
            await new Promise((r) => setTimeout(r, 250));
          }
        };
        const collect = await bridge['jobs.start']({ kind: 'collect', experimentId, params: { suite: 'goal', tasks: [0, 1], episodesPerTask: 1, seed: 0, imageSize: 16, teacher: { kind: 'scripted' }, workers: 2 } });
        const c = await waitFor(collect.value!.id);
        const evaluate = await bridge['jobs.start']({ kind: 'evaluate', experimentId, params: { policies: [{ id: 'teacher', spec: 'teacher:scripted' }], suites: ['goal'], tasks: [0], trials: 2, maxSteps: { goal: 60 }, workers: 2, imageSize: 16 } });
        const e = await waitFor(evaluate.value!.id);
        return { collect: c.status, evaluate: e.status, workers: (e.result as { workers?: number } | null)?.workers, errors: [c.error, e.error] };
      });
      expect(outcome).toEqual({ collect: 'succeeded', evaluate: 'succeeded', workers: 2, errors: [null, null] });
    } finally {
      await app.close();
      env.cleanup();
    }
  });
});
