import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { undiscretize } from '../../../../electron/engine/data/discretize.js';
import { unnormalizeActions } from '../../../../electron/engine/data/normalize.js';
import { decodeModel } from '../../../../electron/engine/graph/index.js';
import { exportPolicy, policyText, readTrainedStudent } from '../../../../electron/engine/model/policy.js';
import { StudentRuntime, measureInt8Agreement } from '../../../../electron/engine/policies/student-onnx.js';
import { framePixels, videoFrame } from '../../../../electron/engine/model/preprocess.js';
import { trainStudent } from '../../../../electron/engine/train/trainer.js';
import { MICRO, microDataset } from '../train/helpers.js';

const RUNNER = fileURLToPath(new URL('./run-policy.mjs', import.meta.url));

describe('policy.onnx: exported, then run by plain onnxruntime-node in another process', () => {
  it('reproduces the engine policy runner\'s actions exactly, in both text modes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'policy-'));
    const ds = microDataset(3, 16);
    await trainStudent(ds, { ...MICRO, epochs: 2, batchSize: 8, lr: 1e-2, warmupSteps: 1, valFraction: 0.34, threads: 1, seed: 3, runId: 'run-policy-test', outDir: dir });
    const student = readTrainedStudent(dir);
    const file = path.join(dir, 'policy.onnx');
    const meta = await exportPolicy(student, file);

    // metadata travels inside the model (metadata_props) and beside it
    const props = (decodeModel(readFileSync(file)).metadataProps as { key: string; value: string }[]).find((p) => p.key === 'vla_ad_policy');
    const embedded = JSON.parse(props!.value);
    expect(embedded.runId).toBe('run-policy-test');
    expect(embedded.stats.q01).toEqual(student.stats.q01);
    expect(embedded.chunk).toBe(4);
    expect(JSON.parse(readFileSync(path.join(dir, 'policy.json'), 'utf8'))).toEqual(embedded);
    expect(meta.textLength).toBe(student.textLength);

    const policy = await StudentRuntime.fromWeights(student, { threads: 1 });
    const ep = ds[0].episode;
    const S = student.config.image.size;
    const texts = [policyText('masked', ep.instruction), policyText('phase', ep.instruction, 'grasping')];
    expect(texts[1]).toBe(`${ep.instruction} | grasping`);
    expect(() => policyText('phase', ep.instruction)).toThrow(/needs the current phase label/);
    const items: { pixels: number[]; tokens: number[]; pixelDims: number[]; tokenDims: number[] }[] = [];
    const engine: { actions: Float32Array; bins: Float32Array }[] = [];
    for (const [i, t] of [0, 5, 12].entries()) {
      const pixels = framePixels(videoFrame(ep.obs.agentview_rgb, t, ep.imageSize.height, ep.imageSize.width), student.config, { rotate180: false });
      const text = texts[i % 2];
      engine.push(await policy.actPixels(pixels, text));
      items.push({ pixels: [...pixels], tokens: [...policy.tokens(text)].map(Number), pixelDims: [1, 3, S, S], tokenDims: [1, student.textLength] });
    }
    writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify({ items }));
    const r = spawnSync(process.execPath, [RUNNER, file, path.join(dir, 'inputs.json')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`run-policy.mjs failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as { inputNames: string[]; out: { actions: number[]; bins: number[]; dims: number[] }[] };
    expect(res.inputNames.sort()).toEqual(['pixels', 'tokens']);
    res.out.forEach((o, i) => {
      expect(o.dims).toEqual([1, 4, 7]);
      expect(o.bins).toEqual([...engine[i].bins]);
      expect(o.actions).toEqual([...engine[i].actions]);
      // and the in-graph decoding agrees with the data layer's (float64) decoding of the same bins
      const ref = unnormalizeActions(undiscretize(o.bins), student.stats);
      for (let k = 0; k < ref.length; k++) expect(Math.abs(o.actions[k] - ref[k])).toBeLessThan(1e-6);
      for (let k = 6; k < ref.length; k += 7) expect(Math.abs(o.actions[k])).toBe(1);
    });
    await policy.release();

    // int8 export: same interface, runs in the plain process too; its action tokens vs fp32's on every frame of the data
    const fileQ = path.join(dir, 'policy-int8.onnx');
    const metaQ = await exportPolicy(student, fileQ, { int8: true, quantizeMinElements: 0 });
    expect(metaQ.precision).toMatch(/^int8/);
    const rq = spawnSync(process.execPath, [RUNNER, fileQ, path.join(dir, 'inputs.json')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (rq.status !== 0) throw new Error(`run-policy.mjs (int8) failed: ${rq.stderr}`);
    expect(JSON.parse(rq.stdout).out[0].dims).toEqual([1, 4, 7]);
    const frames = ds.flatMap(({ episode: e }) => Array.from({ length: e.length }, (_, t) => ({ image: videoFrame(e.obs.agentview_rgb, t, e.imageSize.height, e.imageSize.width), text: e.instruction })));
    const agreement = await measureInt8Agreement(student, frames, { threads: 1, quantizeMinElements: 0 });
    console.log(`int8 vs fp32 next-action agreement (micro student, ${agreement.frames} frames): tokens ${agreement.tokenAgreement.toFixed(4)}, whole frames ${agreement.frameAgreement.toFixed(4)}`);
    expect(agreement.frames).toBe(48);
    expect(agreement.tokenAgreement).toBeGreaterThan(0.9);
    expect(agreement.frameAgreement).toBeLessThanOrEqual(agreement.tokenAgreement);
  }, 120_000);
});
