import { randomBytes } from 'node:crypto';

/** Ids are a prefix plus 12 random base-36 characters: readable in paths and URLs, unique in practice. */
export function newId(prefix: 'exp' | 'job' | 'art' | 'run' | 'res'): string {
  const bytes = randomBytes(12);
  let s = '';
  for (const b of bytes) s += (b % 36).toString(36);
  return `${prefix}_${s}`;
}
