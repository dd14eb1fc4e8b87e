import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Vitest global setup: every test process (and the Python, worker and server processes tests start)
 * inherits a TMPDIR made for this run, removed when the run ends, so temp folders a test forgets to
 * delete (or that a killed worker leaves) do not pile up in the machine's /tmp. VLA_AD_KEEP_TMP=1 keeps it.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vla-ad-tests-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    if (process.env.VLA_AD_KEEP_TMP !== '1') rmSync(dir, { recursive: true, force: true });
  };
}
