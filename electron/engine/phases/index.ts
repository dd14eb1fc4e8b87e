/** Phases room: the rule classifier, taxonomies, granularity statistics, operating segments, scoring. */
export * from './taxonomy.js';
export * from './config.js';
export { computeSignals, debounceCommand, type PhaseSignals } from './signals.js';
export * from './classifier.js';
export * from './segments.js';
export * from './stats.js';
export * from './evaluate.js';
