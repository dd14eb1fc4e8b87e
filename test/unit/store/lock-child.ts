/**
 * One contender for a data directory's lock, for the race tests: prints "ready", waits for a line on stdin
 * holding a start time (ms since the epoch), spins until then (so all contenders try in the same instant),
 * tries DataDirLock.acquire, prints "won" or "conflict <code>", holds the lock for <holdMs>, releases it and
 * exits.
 *
 *   node --import tsx test/unit/store/lock-child.ts <dataDir> <holdMs>
 */
import { DataDirLock } from '../../../electron/engine/store/data-dir.js';
import { LabError } from '../../../electron/engine/errors.js';

const [dataDir, holdMs = '1500'] = process.argv.slice(2);
process.stdout.write('ready\n');
process.stdin.once('data', (line: Buffer) => {
  const startAt = Number(line.toString().trim());
  while (Date.now() < startAt) {
    /* spin: be running, not waking up, when the moment comes */
  }
  let lock: DataDirLock | null = null;
  try {
    lock = DataDirLock.acquire(dataDir, `contender ${process.pid}`);
    process.stdout.write('won\n');
  } catch (err) {
    process.stdout.write(`conflict ${err instanceof LabError ? err.code : `untyped ${(err as Error).message}`}\n`);
  }
  setTimeout(() => {
    lock?.release();
    process.exit(0);
  }, lock ? Number(holdMs) : 0);
});
