import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StudentOnnxPolicy, StudentRuntime } from '../../../../electron/engine/policies/student-onnx.js';
import { exportPolicy, readTrainedStudent } from '../../../../electron/engine/model/policy.js';
import { videoFrame } from '../../../../electron/engine/model/preprocess.js';
import type { Observation } from '../../../../electron/engine/policies/types.js';
import { loadClipTokenizer, tokenizeRow } from '../../../../electron/engine/model/tokenizer.js';
import { trainStudent } from '../../../../electron/engine/train/trainer.js';
import { testVocab } from '../../../helpers/bpe-vocab.js';
import { MICRO, microDataset } from '../train/helpers.js';

/**
 * A CLIP-BPE student (the longclip-b16 kind of text tower, at micro size, on a vocabulary the test writes)
 * carries its tokenizer: student.json after training, policy.onnx after export, so the deployed file runs
 * without the tokenizer folder it was trained with.
 */
describe('a CLIP-BPE student ships its tokenizer', () => {
  it('embeds vocabulary and merges in student.json and policy.onnx; the policy tokenizes without the folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bpe-policy-'));
    try {
      const tokDir = path.join(dir, 'tokenizer');
      const out = path.join(dir, 'student');
      const { vocab, merges } = testVocab();
      const n = Object.keys(vocab).length;
      mkdirSync(tokDir);
      writeFileSync(path.join(tokDir, 'vocab.json'), JSON.stringify(vocab));
      writeFileSync(path.join(tokDir, 'merges.txt'), ['#version: 0.2', ...merges.map((m) => m.join(' '))].join('\n'));
      const configOverrides = { ...MICRO.configOverrides, text: { ...MICRO.configOverrides.text, tokenizer: 'clip-bpe', vocabSize: n, sotToken: n - 2, eotToken: n - 1 } };
      await trainStudent(microDataset(3, 12), { config: 'tiny', configOverrides, tokenizerDir: tokDir, epochs: 1, batchSize: 8, lr: 1e-4, warmupSteps: 1, valFraction: 0.34, threads: 1, runId: 'bpe', outDir: out });

      const meta = JSON.parse(readFileSync(path.join(out, 'student.json'), 'utf8'));
      expect(meta.tokenizer.vocab).toEqual(vocab);
      expect(meta.tokenizer.merges).toEqual(merges.map((m) => m.join(' ')));

      const student = readTrainedStudent(out);
      const file = path.join(dir, 'policy.onnx');
      await exportPolicy(student, file);
      const fromFolder = loadClipTokenizer(tokDir);
      rmSync(tokDir, { recursive: true }); // the folder is gone: the policy must not need it
      const embedded = StudentRuntime.embeddedTokenizer(file)!;
      const text = 'Hello world, open the drawer';
      expect(Array.from(tokenizeRow(embedded, text, student.textLength))).toEqual(Array.from(tokenizeRow(fromFolder, text, student.textLength)));

      // The deployed file acts like the engine's runner on the same frame and instruction.
      const ep = microDataset(1, 4)[0].episode;
      const { height, width } = ep.imageSize;
      const frame = videoFrame(ep.obs.agentview_rgb, 0, height, width);
      const runner = await StudentRuntime.fromWeights(student, { threads: 1 });
      const deployed = await StudentOnnxPolicy.create(file, { textMode: 'masked', threads: 1 });
      try {
        const want = (await runner.act(frame, ep.instruction)).actions;
        await deployed.reset({ suite: ep.suite, taskIndex: ep.taskIndex, instruction: ep.instruction, initIndex: 0, seed: 0 });
        const got = await deployed.act({ imageSize: { height, width }, agentview_rgb: Uint8Array.from(frame.data) } as Observation);
        expect(got.length).toBe(want.length);
        for (let i = 0; i < got.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-4);
      } finally {
        await runner.release();
        await deployed.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
