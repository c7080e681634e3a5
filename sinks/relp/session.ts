// One RELP client session (one TCP or TLS connection): the "open" handshake, "syslog"
// commands with transaction numbers answered by "rsp" frames, a window of unacknowledged
// messages, "close", and the server's "serverclose" hint.
//
// A session never recovers by itself: on any failure (connection lost, serverclose, a refused
// or malformed response, no answer within ackTimeoutMs) every unacknowledged send rejects
// with the cause and the session is dead. The sink decides what to resend on a new one.
import type net from 'node:net';
import type { ResolvedRelpOptions, RelpTarget } from './config.js';
import { connectStream } from '../shared/syslog-transport.js';
import { quickAcker } from './quickack.js';
import { encodeFrame, FrameParser, nextTxnr, parseOffers, parseResponse, RelpProtocolError, type RelpFrame, type RelpResponse } from './frame.js';

/** what we tell the server about ourselves in "open" (relp_software is informational only) */
const OFFERS = 'relp_version=0\nrelp_software=sysmon-ts\ncommands=syslog';
/** responses carry a status line and, for "open", the offers: a few hundred bytes */
const MAX_RESPONSE = 64 * 1024;

interface Pending {
  resolve: (rsp: RelpResponse) => void;
  reject: (err: Error) => void;
  what: string;
}

export class RelpSession {
  private txnr = 1;
  private readonly parser = new FrameParser(MAX_RESPONSE);
  private readonly unacked = new Map<number, Pending>();
  private windowWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private failure: Error | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private corked = false;
  /** the server's relp_software offer, for diagnostics */
  serverSoftware = '';

  private constructor(
    private readonly sock: net.Socket,
    private readonly where: string,
    private readonly o: ResolvedRelpOptions,
  ) {
    const quickAck = o.quickAck ? quickAcker(sock) : () => {};
    quickAck();
    sock.on('data', (b: Buffer) => {
      quickAck();
      this.received(b);
    });
    sock.on('error', (err) => this.fail(new Error(`${this.where}: ${err.message}`)));
    sock.on('end', () => this.fail(new Error(`${this.where}: connection closed by the server`)));
    sock.on('close', () => this.fail(new Error(`${this.where}: connection closed`)));
  }

  /** Connects and performs the "open" handshake; rejects with a message saying what failed. */
  static async open(target: RelpTarget, o: ResolvedRelpOptions): Promise<RelpSession> {
    const where = `relp ${target.tls ? 'relps' : 'relp'}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    const sock = await connect(target, o, where);
    const s = new RelpSession(sock, where, o);
    try {
      const rsp = await s.command('open', Buffer.from(OFFERS, 'latin1'), 'open');
      const offers = parseOffers(rsp.body);
      const commands = offers.get('commands');
      if (commands && !commands.includes('syslog'))
        throw new RelpProtocolError(`${where}: the server does not accept the syslog command (it offers commands=${commands.join(',')})`);
      s.serverSoftware = (offers.get('relp_software') ?? []).join(',');
    } catch (err) {
      s.fail(err as Error);
      const e = s.failure ?? (err as Error);
      // a TLS server that wants a client certificate accepts the handshake, then hangs up
      if (target.tls && /closed/.test(e.message))
        throw new Error(`${e.message} before answering "open" (does it require a client certificate? relps://...?cert=FILE&key=FILE)`);
      throw e;
    }
    return s;
  }

  get alive(): boolean {
    return this.failure === null && !this.closing;
  }
  get error(): Error | null {
    return this.failure;
  }
  get inFlight(): number {
    return this.unacked.size;
  }

  /** Resolves when one more message fits in the window; rejects if the session died. */
  windowSpace(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.unacked.size < this.o.window) return Promise.resolve();
    return new Promise((resolve, reject) => this.windowWaiters.push({ resolve, reject }));
  }

  /** Sends one syslog message; resolves on its "200 OK", rejects on anything else. */
  async send(message: Buffer, what: string): Promise<void> {
    await this.command('syslog', message, what);
  }

  private command(command: string, data: Buffer, what: string): Promise<RelpResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const txnr = this.txnr;
    this.txnr = nextTxnr(txnr);
    return new Promise((resolve, reject) => {
      this.unacked.set(txnr, { resolve, reject, what });
      this.armAckTimer();
      this.corkUntilTick();
      this.sock.write(encodeFrame(txnr, command, data));
    });
  }

  /** frames sent in one go (a batch filling the window) leave in a few large writes, not one syscall each */
  private corkUntilTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.sock.cork();
    process.nextTick(() => {
      this.corked = false;
      this.sock.uncork();
    });
  }

  private received(chunk: Buffer): void {
    if (this.failure) return;
    let frames: RelpFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.fail(new Error(`${this.where}: ${(err as Error).message}`));
      return;
    }
    for (const f of frames) {
      if (this.failure) return;
      this.frame(f);
    }
  }

  private frame(f: RelpFrame): void {
    if (f.command === 'serverclose') {
      this.fail(new Error(`${this.where}: the server closed the session (serverclose)`));
      return;
    }
    if (f.command !== 'rsp') {
      this.fail(new RelpProtocolError(`${this.where}: unexpected command "${f.command}" from the server`));
      return;
    }
    const p = this.unacked.get(f.txnr);
    if (!p) {
      this.fail(new RelpProtocolError(`${this.where}: response for transaction ${f.txnr}, which is not waiting for one`));
      return;
    }
    let rsp;
    try {
      rsp = parseResponse(f.data);
    } catch (err) {
      this.fail(new RelpProtocolError(`${this.where}: ${(err as Error).message} (transaction ${f.txnr})`));
      return;
    }
    if (rsp.code !== 200) {
      // a refusal would be refused again on this session; the sink reconnects and retries
      this.fail(new Error(`${this.where}: the server refused ${p.what}: ${rsp.code} ${rsp.text}`));
      return;
    }
    this.unacked.delete(f.txnr);
    p.resolve(rsp);
    this.armAckTimer();
    this.releaseWindow();
  }

  private releaseWindow(): void {
    while (this.windowWaiters.length && this.unacked.size < this.o.window) this.windowWaiters.shift()!.resolve();
  }

  /** (re)starts the no-answer timer while something waits for an answer */
  private armAckTimer(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.unacked.size === 0 || this.failure) return;
    this.ackTimer = setTimeout(() => {
      this.fail(new Error(`${this.where}: no answer for ${this.o.ackTimeoutMs} ms with ${this.unacked.size} message(s) unacknowledged`));
    }, this.o.ackTimeoutMs);
    this.ackTimer.unref();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    const pending = [...this.unacked.values()];
    this.unacked.clear();
    for (const p of pending) p.reject(err);
    const waiters = this.windowWaiters;
    this.windowWaiters = [];
    for (const w of waiters) w.reject(err);
    this.sock.destroy();
  }

  /** Drops the connection at once (unacknowledged sends reject). */
  abort(reason = 'session aborted'): void {
    this.fail(new Error(`${this.where}: ${reason}`));
  }

  /** Sends "close", waits (up to timeoutMs) for its response, then closes the connection. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.failure || this.closing) {
      this.sock.destroy();
      return;
    }
    const closed = this.command('close', Buffer.alloc(0), 'close');
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed.catch(() => undefined),
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    // whatever still waits (a write racing with close) fails now instead of hanging
    this.fail(new Error(`${this.where}: session closed`));
  }
}

function connect(target: RelpTarget, o: ResolvedRelpOptions, where: string): Promise<net.Socket> {
  return connectStream(target, o.syslog, `connect timeout after ${o.syslog.connectTimeoutMs} ms`).catch((err: Error) => {
    throw new Error(`${where}: ${err.message}`);
  });
}
