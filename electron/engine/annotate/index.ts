/** Annotate room: VLM client, prompts, validation, cache, cost, offline annotator, the dataset pipeline. */
export * from './vocab.js';
export * from './prompts.js';
export * from './validate.js';
export * from './client.js';
export * from './limiter.js';
export * from './cache.js';
export * from './cost.js';
export * from './offline.js';
export * from './pipeline.js';
export * from './provenance.js';
