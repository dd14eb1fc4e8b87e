// Runs policy.onnx with plain onnxruntime-node and nothing from the engine (the deployment path).
// Usage: node run-policy.mjs policy.onnx inputs.json  → prints {actions, bins, dims} as JSON.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [model, inputsFile] = process.argv.slice(2);
const inp = JSON.parse(readFileSync(inputsFile, 'utf8'));
const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
const out = [];
for (const x of inp.items) {
  const r = await session.run({
    pixels: new ort.Tensor('float32', Float32Array.from(x.pixels), x.pixelDims),
    tokens: new ort.Tensor('int64', BigInt64Array.from(x.tokens.map(BigInt)), x.tokenDims),
  });
  out.push({ actions: Array.from(r.actions.data), bins: Array.from(r.bins.data), dims: r.actions.dims });
}
console.log(JSON.stringify({ inputNames: session.inputNames, outputNames: session.outputNames, out }));
