// Syslog transports behind one small interface. Each one keeps a single connection, reconnects
// lazily on the next send() after a failure (with exponential backoff: while backing off,
// send() rejects at once so the journal fan-out retries later) and rejects send() when the
// messages may not have been delivered.
//   udp   connected dgram socket, one message per datagram; best effort (no delivery signal
//         beyond ICMP errors, which reject the next send)
//   unix  AF_UNIX datagram via koffi (syslog-unixdgram.ts), one message per datagram; send() resolves
//         once the daemon has read them (SIOCOUTQ drained + liveness probe, see waitConsumed)
//   tcp   RFC 6587 octet counting ("LEN SP MSG"), whole batch in one write
//   tls   the same over node:tls (RFC 5425), server certificate verified against ca
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { ResolvedSyslogOptions, SyslogTarget } from './syslog-config.js';
import { UnixDgramError, UnixDgramSocket } from './syslog-unixdgram.js';

const ECONNREFUSED = 111;
const ENOTCONN = 107;

export interface SyslogTransport {
  /** deliver messages in order; resolves once handed over (see each transport) */
  send(messages: readonly Buffer[]): Promise<void>;
  close(): Promise<void>;
  readonly connected: boolean;
  /** TCP/TLS: batches queued for a replay since the last call */
  takeReplayed?(): number;
}

class Backoff {
  private delay: number;
  private next = 0;
  lastError: Error | null = null;
  constructor(
    private readonly initial: number,
    private readonly max: number,
  ) {
    this.delay = initial;
  }
  check(what: string): void {
    const now = Date.now();
    if (now < this.next) {
      throw new Error(`${what}: down, next reconnect in ${this.next - now} ms (last error: ${this.lastError?.message ?? '?'})`);
    }
  }
  failed(err: Error): void {
    this.lastError = err;
    this.next = Date.now() + this.delay;
    this.delay = Math.min(this.delay * 2, this.max);
  }
  succeeded(): void {
    this.delay = this.initial;
    this.next = 0;
    this.lastError = null;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createTransport(target: SyslogTarget, o: ResolvedSyslogOptions): SyslogTransport {
  switch (target.transport) {
    case 'udp':
      return new UdpTransport(target, o);
    case 'unix':
      return new UnixTransport(target, o);
    case 'tcp':
    case 'tls':
      return new StreamTransport(target, o);
  }
}

class UdpTransport implements SyslogTransport {
  private sock: dgram.Socket | null = null;
  private error: Error | null = null;
  private readonly backoff: Backoff;
  constructor(
    private readonly t: SyslogTarget,
    o: ResolvedSyslogOptions,
  ) {
    this.backoff = new Backoff(o.backoffInitialMs, o.backoffMaxMs);
  }
  get connected(): boolean {
    return this.sock !== null;
  }

  private async connect(): Promise<dgram.Socket> {
    const { address, family } = await lookup(this.t.host);
    const sock = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.connect(this.t.port, address, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', (err) => {
      this.error = err;
    });
    return sock;
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    const where = `syslog udp://${this.t.host}:${this.t.port}`;
    if (!this.sock) {
      this.backoff.check(where);
      try {
        this.sock = await this.connect();
        this.backoff.succeeded();
      } catch (err) {
        this.backoff.failed(err as Error);
        throw err;
      }
    }
    const sock = this.sock;
    try {
      await Promise.all(
        messages.map(
          (m) =>
            new Promise<void>((resolve, reject) => {
              sock.send(m, (err) => (err ? reject(err) : resolve()));
            }),
        ),
      );
      if (this.error) throw this.error;
    } catch (err) {
      this.error = null;
      this.sock = null;
      sock.close();
      this.backoff.failed(err as Error);
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.sock) {
      const s = this.sock;
      this.sock = null;
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}

class UnixTransport implements SyslogTransport {
  private readonly sock: UnixDgramSocket;
  private readonly backoff: Backoff;
  constructor(
    t: SyslogTarget,
    private readonly o: ResolvedSyslogOptions,
  ) {
    this.sock = new UnixDgramSocket(t.path);
    this.backoff = new Backoff(o.backoffInitialMs, o.backoffMaxMs);
  }
  get connected(): boolean {
    return this.sock.connected;
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    const where = `syslog unix://${this.sock.path}`;
    try {
      if (!this.sock.connected) {
        this.backoff.check(where);
        this.sock.connect();
        this.backoff.succeeded();
      }
      let first = true;
      for (const m of messages) {
        try {
          await this.sock.send(m, this.o.writeTimeoutMs);
        } catch (err) {
          // the daemon restarted while we were idle (our socket points at its dead
          // predecessor): nothing of this batch was sent yet, reconnect once at once
          if (!first || !(err instanceof UnixDgramError) || (err.errno !== ECONNREFUSED && err.errno !== ENOTCONN)) throw err;
          this.sock.connect();
          await this.sock.send(m, this.o.writeTimeoutMs);
        }
        first = false;
      }
      if (this.o.confirmUnix) await this.sock.waitConsumed(this.o.writeTimeoutMs);
    } catch (err) {
      this.sock.close();
      if (!(err as Error).message.includes('next reconnect')) this.backoff.failed(err as Error);
      throw err;
    }
  }

  async close(): Promise<void> {
    this.sock.close();
  }
}

/**
 * Opens a TCP or TLS connection (TLS: the server certificate verified against o.ca, client
 * certificate o.cert/o.key) with Nagle off and keep-alive on. Rejects with the socket's error,
 * or with `timeoutMessage` when not connected within o.connectTimeoutMs. Used by the RELP sink too.
 */
export function connectStream(target: { tls: boolean; host: string; port: number }, o: ResolvedSyslogOptions, timeoutMessage: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = target.tls
      ? tls.connect({
          host: target.host,
          port: target.port,
          ca: o.ca,
          cert: o.cert,
          key: o.key,
          rejectUnauthorized: o.rejectUnauthorized,
          servername: o.servername ?? (net.isIP(target.host) ? undefined : target.host),
        })
      : net.connect({ host: target.host, port: target.port });
    const ready = target.tls ? 'secureConnect' : 'connect';
    const timer = setTimeout(() => {
      sock.destroy(new Error(timeoutMessage));
    }, o.connectTimeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    sock.once('error', fail);
    sock.once(ready, () => {
      clearTimeout(timer);
      sock.off('error', fail);
      sock.setNoDelay(true);
      sock.setKeepAlive(true, 30_000);
      resolve(sock);
    });
  });
}

/** bytes of recently written batches kept for a replay, whatever replayMs says */
const REPLAY_MAX_BYTES = 8 << 20;

/** TCP and TLS with octet-counting framing. */
class StreamTransport implements SyslogTransport {
  private sock: net.Socket | null = null;
  /** set when the current connection reported an error/close: pending sends must reject */
  private broken: Error | null = null;
  private readonly backoff: Backoff;
  /** framed batches settled on the current connection within replayMs. The settle window
   *  only catches a receiver that closes within settleMs of our write; rsyslogd and syslog-ng
   *  stop reading first and close 1-100 ms later (more on a busy host), with what they had
   *  not read lost whether they send RST or FIN. So a connection that ends sends these again
   *  on the next one (at-least-once: the receiver may have read some of them). */
  private recent: { at: number; buf: Buffer }[] = [];
  private recentBytes = 0;
  /** what the next connection sends first */
  private replay: Buffer[] = [];
  /** batches queued for a replay, not yet reported to the sink's stats */
  private replayedBatches = 0;
  takeReplayed(): number {
    const n = this.replayedBatches;
    this.replayedBatches = 0;
    return n;
  }
  constructor(
    private readonly t: SyslogTarget,
    private readonly o: ResolvedSyslogOptions,
  ) {
    this.backoff = new Backoff(o.backoffInitialMs, o.backoffMaxMs);
  }
  get connected(): boolean {
    return this.sock !== null && this.broken === null;
  }

  private where(): string {
    return `syslog ${this.t.transport}://${this.t.host}:${this.t.port}`;
  }

  private connect(): Promise<net.Socket> {
    return connectStream({ tls: this.t.transport === 'tls', host: this.t.host, port: this.t.port }, this.o, `${this.where()}: connect timeout`);
  }

  private attach(sock: net.Socket): void {
    this.sock = sock;
    this.broken = null;
    const down = (err: Error) => {
      if (this.sock !== sock) return;
      this.broken ??= err;
      this.connectionLost();
      sock.destroy();
    };
    sock.on('error', down);
    sock.on('end', () => down(new Error(`${this.where()}: closed by peer`)));
    sock.on('close', () => down(new Error(`${this.where()}: connection closed`)));
    sock.on('data', () => {
      /* syslog receivers send nothing; ignore */
    });
  }

  private remember(buf: Buffer): void {
    if (this.o.replayMs <= 0) return;
    this.recent.push({ at: Date.now(), buf });
    this.recentBytes += buf.length;
    this.trim();
  }

  private trim(): void {
    const since = Date.now() - this.o.replayMs;
    while (this.recent.length && (this.recent[0]!.at < since || this.recentBytes > REPLAY_MAX_BYTES)) this.recentBytes -= this.recent.shift()!.buf.length;
  }

  /** the connection is gone: what it may not have delivered goes first on the next one */
  private connectionLost(): void {
    this.trim();
    if (this.recent.length) this.replayedBatches += this.recent.length;
    this.replay.push(...this.recent.map((r) => r.buf));
    this.recent = [];
    this.recentBytes = 0;
  }

  private drop(err: Error): void {
    this.connectionLost();
    if (this.sock) {
      this.sock.destroy();
      this.sock = null;
    }
    this.broken = null;
    this.backoff.failed(err);
  }

  async send(messages: readonly Buffer[]): Promise<void> {
    if (this.sock && this.broken) {
      // closed while idle (daemon restart, idle timeout): reconnect at once, no backoff
      this.connectionLost();
      this.sock.destroy();
      this.sock = null;
      this.broken = null;
    }
    if (!this.sock) {
      this.backoff.check(this.where());
      try {
        this.attach(await this.connect());
        this.backoff.succeeded();
      } catch (err) {
        this.backoff.failed(err as Error);
        throw err;
      }
    }
    const sock = this.sock!;
    const parts: Buffer[] = [];
    for (const m of messages) parts.push(Buffer.from(`${m.length} `, 'latin1'), m);
    const batch = Buffer.concat(parts);
    const replay = this.replay;
    const buf = replay.length ? Buffer.concat([...replay, batch]) : batch;
    await new Promise<void>((resolve, reject) => {
      // a receiver that stops reading fills the socket buffers: give up after the timeout
      const timer = setTimeout(() => reject(new Error(`${this.where()}: write not flushed within ${this.o.writeTimeoutMs} ms`)), this.o.writeTimeoutMs);
      sock.write(buf, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    }).catch((err: Error) => {
      this.drop(err);
      throw err;
    });
    // No application-level ack exists in syslog over TCP: give the peer a moment to reset the
    // connection (a daemon that died or stopped reading) before calling the batch delivered.
    if (this.o.settleMs > 0) await sleep(this.o.settleMs);
    if (this.broken || this.sock !== sock) {
      const err = this.broken ?? new Error(`${this.where()}: connection lost`);
      if (this.sock === sock) this.drop(err);
      throw err;
    }
    // settled: the replayed batches and this one may now be replayed from this connection
    if (replay.length) {
      this.replay = this.replay.slice(replay.length);
      for (const r of replay) this.remember(r);
    }
    this.remember(batch);
  }

  async close(): Promise<void> {
    const s = this.sock;
    this.sock = null;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.end();
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}
