import { existsSync, readFileSync } from 'node:fs';
import type { z } from 'zod';
import { LabError, parseOr } from '../errors.js';

/**
 * Read a JSON file the lab wrote (or a user handed it) and validate it: NOT_FOUND when it is missing,
 * CORRUPT_FILE naming the file — and the first bad field — when it is not JSON or not of the schema.
 */
export function readJsonFile<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  if (!existsSync(file)) throw new LabError('NOT_FOUND', `${file} does not exist`, { file });
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new LabError('CORRUPT_FILE', `${file}: not JSON (${(err as Error).message})`, { file });
  }
  return parseOr(schema, raw, file, 'CORRUPT_FILE', { file });
}
