/**
 * Tensor graphs with reverse-mode autodiff, compiled to ONNX and run on onnxruntime-node.
 *
 *   const g = new GraphBuilder();
 *   const x = g.input('x', 'float32', ['B', 197, 768]);
 *   const w = g.param('w', [768, 768], init, { trainable: true });
 *   const loss = crossEntropy(g, g.matmul(x, w), targets, weights);
 *   const train = await TrainSession.create(buildTrainStep(g, loss, { weightDecay: 0.01, clipNorm: 1 }));
 *   const { loss: l } = await train.step({ x: ..., targets: ..., weights: ... }, lr);
 *
 * See docs/graph.md.
 */
export { GraphBuilder, type ParamOptions, type DropoutSite } from './builder.js';
export { Tensor, type DType, type Dim, type Shape, type Param, type Node, fmtShape, numel } from './ir.js';
export { OPS, type OpDef, type EmitCtx } from './ops.js';
export { gradients } from './autodiff.js';
export { buildTrainStep, stateName, ADAMW_DEFAULTS, type AdamWConfig, type TrainGraph } from './optim.js';
export { emitOnnx, OPSET, EXTERNAL_DATA_THRESHOLD, type EmitOptions, type EmittedModel } from './emit.js';
export { TrainSession, InferSession, selectExecutionProvider, type RuntimeOptions, type TrainStepResult, type Feed, type EpName, type EpChoice, type EpProbes } from './runtime.js';
export { cudaReadiness, cudaMissingMessage, CUDA_INSTALL_HINT, CUDA_DIR_ENV, type CudaReadiness, type CudaPiece, type CudaProbes } from './cuda-provider.js';
export * as nn from './nn.js';
export { encodeSafetensors, decodeSafetensors, toFloat32, readSafetensors, writeSafetensors, type SafeTensor, type SafeDType } from './safetensors.js';
export { decodeModel } from './onnx-proto.js';
