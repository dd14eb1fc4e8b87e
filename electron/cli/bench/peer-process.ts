import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A benchmark peer kept running (PyTorch in its own process) and asked for a few timed runs at a time,
 * so that ours and the peer's alternate on the same cores: on a shared machine whose load moves, one side
 * measured after the other compares two different machines. Protocol: one command line in, one JSON line
 * out; the peer prints {"ready": true} once loaded and warmed up.
 */
export class PeerProcess {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(cmd: string, args: string[]): Promise<PeerProcess> {
    const p = new PeerProcess(spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    await p.next();
    return p;
  }

  private async next(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`peer exited: ${this.stderr.trim().slice(-2000)}`);
      if (r.value.startsWith('{')) return JSON.parse(r.value) as Record<string, unknown>;
    }
  }

  async ask(command: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${command}\n`);
    return this.next();
  }

  close(): void {
    this.child.stdin.end('quit\n');
    this.child.kill();
  }
}
