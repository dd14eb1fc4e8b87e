/** Poll `cond` until it holds; fail after `timeoutMs` (a test's guard against a hang, not a timing assertion). */
export async function waitUntil(cond: () => boolean, timeoutMs = 90_000, intervalMs = 25): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
