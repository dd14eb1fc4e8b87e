/**
 * Closed-loop evaluation (docs/evaluate.md): the protocol and its resumable trial plan, the per-trial
 * record and its JSON-lines log, chunk execution, the parallel trial scheduler, statistics, the latency
 * harness and the paper's tables. The closed-loop runner (simulator + policy) builds on these.
 */
export * from './chunk-executor.js';
export * from './latency.js';
export * from './protocol.js';
export * from './scheduler.js';
export * from './stats.js';
export * from './tables.js';
export * from './trial.js';
export * from './trial-log.js';
export * from './trial-workers.js';
