/**
 * Closed-loop evaluation (docs/evaluate.md): the protocol and its resumable trial plan, the per-trial
 * record and its JSON-lines log, statistics, the latency harness and the paper's tables; the closed-loop
 * runner (runner.ts, on the one rollout loop in rollout/), frame storage, the policies under test
 * (policy-entry.ts) and the resumable per-policy evaluation the `evaluate` job runs.
 */
export * from './coverage.js';
export * from './evaluation.js';
export * from './frames.js';
export * from './report.js';
export * from './runner.js';
export * from './trial-session.js';
export * from './policy-entry.js';
export * from './latency.js';
export * from './protocol.js';
export * from './stats.js';
export * from './tables.js';
export * from './taxonomy-ablation.js';
export * from './trial.js';
export * from './trial-log.js';
