import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { asIoError } from '../util/atomic.js';
import { LabError } from '../errors.js';
import { parseTrialRecord, type TrialRecord } from './trial.js';

/**
 * Append-only JSON-lines log of finished trials: one record per line, fsynced after each append, so an
 * evaluation killed midway loses at most the trial in flight. Reading drops a truncated last line (the
 * write the kill interrupted) and reports it; a bad line anywhere else is a corrupt file, named by line.
 * Duplicates (a trial re-run after a crash between its append and the caller's bookkeeping) are kept in
 * the file and collapsed by `uniqueTrials` / `remainingTrials` (protocol.ts).
 */
export function appendTrial(file: string, record: TrialRecord): void {
  const line = JSON.stringify(parseTrialRecord(record, 'trial to append')) + '\n';
  mkdirSync(path.dirname(file), { recursive: true });
  // A full disk may leave part of the line: the next load cuts a truncated last line off (loadLog).
  try {
    const fd = openSync(file, 'a');
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw asIoError(err, file);
  }
}

export interface TrialLog {
  records: TrialRecord[];
  /** 1-based line number of a dropped, truncated last line, or null. */
  truncatedLine: number | null;
}

export function readTrials(file: string): TrialLog {
  if (!existsSync(file)) return { records: [], truncatedLine: null };
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // A complete file ends with '\n', so the last element is ''; anything else there is an interrupted write.
  const tail = lines.pop()!;
  const records: TrialRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new LabError('CORRUPT_FILE', `${file}:${i + 1}: not JSON`, { file, line: i + 1 });
    }
    records.push(parseTrialRecord(value, `${file}:${i + 1}`));
  });
  return { records, truncatedLine: tail.trim() === '' ? null : lines.length + 1 };
}
