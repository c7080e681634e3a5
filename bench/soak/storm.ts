// The soak's mixed storm, generated from this process at a fixed, moderate rate so every
// operation carries a marker the analysis can find again in each sink:
//   exec    spawn /bin/true soak-RUN-xSEQ        -> event 1, CommandLine holds the marker
//   file    create + unlink DIR/soak-RUN-fSEQ     -> event 11 and event 23/26 on that path
//   connect loopback connect to our listener      -> event 3, DestinationPort = the listener,
//                                                    SourcePort = the socket's local port
// Each operation is logged with its start and end time, so operations that overlap the
// window in which no agent runs (kill -9 -> restarted) can be told apart.
import { spawn } from 'node:child_process';
import { closeSync, openSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export type OpKind = 'exec' | 'file' | 'connect';

export interface Op {
  kind: OpKind;
  /** exec: the marker; file: the path; connect: the source port */
  key: string;
  startMs: number;
  endMs: number;
  ok: boolean;
}

export interface StormRates {
  exec: number;
  file: number;
  connect: number;
}

export class Storm {
  readonly ops: Op[] = [];
  readonly errors: string[] = [];
  listenPort = 0;
  private server: net.Server | null = null;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<void>>();
  private seq = 0;
  private t0 = 0;
  private done: Record<OpKind, number> = { exec: 0, file: 0, connect: 0 };

  constructor(
    readonly runId: string,
    readonly fileDir: string,
    readonly rates: StormRates,
  ) {}

  /** CommandLine substring every exec of this run carries */
  get execMarker(): string {
    return `soak-${this.runId}-x`;
  }
  /** TargetFilename prefix every file of this run has */
  get filePrefix(): string {
    return join(this.fileDir, `soak-${this.runId}-f`);
  }

  async listen(): Promise<void> {
    this.server = net.createServer((c) => {
      c.on('error', () => {});
      c.destroy();
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.listenPort = (this.server.address() as net.AddressInfo).port;
  }

  start(): void {
    this.t0 = Date.now();
    this.done = { exec: 0, file: 0, connect: 0 };
    // every 50 ms, start what the rates say is due since t0 (paced, not bursty)
    this.timer = setInterval(() => {
      const elapsed = (Date.now() - this.t0) / 1000;
      for (const kind of ['exec', 'file', 'connect'] as OpKind[]) {
        const due = Math.floor(elapsed * this.rates[kind]);
        // at most 60 operations in flight: a stalled machine slows the storm instead of piling up
        while (this.done[kind] < due && this.inFlight.size < 60) {
          this.done[kind]++;
          this.track(this.run(kind));
        }
      }
    }, 50);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.stop();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async run(kind: OpKind): Promise<void> {
    const n = ++this.seq;
    const startMs = Date.now();
    let key = '';
    try {
      if (kind === 'exec') {
        key = `${this.execMarker}${n}`;
        await new Promise<void>((resolve, reject) => {
          const p = spawn('/bin/true', [key], { stdio: 'ignore' });
          p.once('error', reject);
          p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`/bin/true exited ${code}`))));
        });
      } else if (kind === 'file') {
        key = `${this.filePrefix}${n}`;
        closeSync(openSync(key, 'wx', 0o600));
        unlinkSync(key);
      } else {
        key = String(
          await new Promise<number>((resolve, reject) => {
            const s = net.connect({ host: '127.0.0.1', port: this.listenPort });
            s.once('connect', () => {
              const port = s.localPort!;
              s.destroy();
              resolve(port);
            });
            s.once('error', reject);
          }),
        );
      }
      this.ops.push({ kind, key, startMs, endMs: Date.now(), ok: true });
    } catch (e) {
      this.errors.push(`${kind} ${key}: ${(e as Error).message}`);
      this.ops.push({ kind, key, startMs, endMs: Date.now(), ok: false });
    }
  }
}
