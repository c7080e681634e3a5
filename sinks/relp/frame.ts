// RELP framing (librelp's wire format, as rsyslog's imrelp/omrelp speak it):
//   FRAME   = TXNR SP COMMAND SP DATALEN [SP DATA] TRAILER
//   TXNR    = 1..999999999 (0 only on server hints such as "serverclose"), wraps to 1
//   COMMAND = 1..32 letters ("open", "syslog", "close", "rsp", "serverclose")
//   DATALEN = decimal octet count of DATA, at most 9 digits; no SP DATA when it is 0
//   TRAILER = LF
// The parser is incremental (bytes arrive in arbitrary pieces) and strict: anything else is a
// RelpProtocolError naming what was wrong, never a guess.

export const MAX_TXNR = 999_999_999;

export class RelpProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RelpProtocolError';
  }
}

export interface RelpFrame {
  txnr: number;
  command: string;
  data: Buffer;
}

export function nextTxnr(txnr: number): number {
  return txnr >= MAX_TXNR ? 1 : txnr + 1;
}

export function encodeFrame(txnr: number, command: string, data: Buffer = Buffer.alloc(0)): Buffer {
  const head = data.length > 0 ? `${txnr} ${command} ${data.length} ` : `${txnr} ${command} 0`;
  const h = Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(h.length + data.length + 1);
  h.copy(out, 0);
  data.copy(out, h.length);
  out[out.length - 1] = 0x0a;
  return out;
}

const enum State {
  Txnr,
  Command,
  Datalen,
  Data,
  Trailer,
}

/** for error messages: the offending byte, printable */
function show(c: number): string {
  return c >= 0x21 && c <= 0x7e ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`;
}

/** Incremental parser of frames received from a RELP peer. */
export class FrameParser {
  private state = State.Txnr;
  private digits = 0;
  private txnr = 0;
  private command = '';
  private datalen = 0;
  private data: Buffer = Buffer.alloc(0);
  private filled = 0;
  private failed: RelpProtocolError | null = null;

  /** @param maxData largest DATA accepted (responses are small; a huge DATALEN is an error, not an allocation) */
  constructor(private readonly maxData: number) {}

  /** Feeds bytes; returns the frames completed by them. Throws RelpProtocolError on the first bad byte (and on every call after it). */
  push(chunk: Buffer): RelpFrame[] {
    if (this.failed) throw this.failed;
    const frames: RelpFrame[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.state === State.Data) {
        const n = Math.min(this.datalen - this.filled, chunk.length - i);
        chunk.copy(this.data, this.filled, i, i + n);
        this.filled += n;
        i += n;
        if (this.filled === this.datalen) this.state = State.Trailer;
        continue;
      }
      const c = chunk[i++]!;
      switch (this.state) {
        case State.Txnr:
          if (c >= 0x30 && c <= 0x39) {
            if (++this.digits > 9) this.fail('transaction number longer than 9 digits');
            this.txnr = this.txnr * 10 + (c - 0x30);
          } else if (c === 0x20 && this.digits > 0) {
            this.state = State.Command;
            this.digits = 0;
          } else this.fail(`expected a digit of the transaction number, got ${show(c)}`);
          break;
        case State.Command:
          if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
            if (this.command.length >= 32) this.fail('command longer than 32 letters');
            this.command += String.fromCharCode(c);
          } else if (c === 0x20 && this.command.length > 0) {
            this.state = State.Datalen;
          } else this.fail(`expected a letter of the command, got ${show(c)}`);
          break;
        case State.Datalen:
          if (c >= 0x30 && c <= 0x39) {
            if (++this.digits > 9) this.fail('data length longer than 9 digits');
            this.datalen = this.datalen * 10 + (c - 0x30);
          } else if (this.digits === 0) {
            this.fail(`expected the data length, got ${show(c)}`);
          } else if (c === 0x0a && this.datalen === 0) {
            frames.push(this.finish());
          } else if (c === 0x20) {
            if (this.datalen > this.maxData) this.fail(`data length ${this.datalen} above the ${this.maxData} bytes a response may have`);
            this.data = Buffer.allocUnsafe(this.datalen);
            this.filled = 0;
            this.state = this.datalen === 0 ? State.Trailer : State.Data;
          } else this.fail(`expected SP or LF after the data length, got ${show(c)}`);
          break;
        case State.Trailer:
          if (c !== 0x0a) this.fail(`expected LF at the end of the frame, got ${show(c)}`);
          frames.push(this.finish());
          break;
      }
    }
    return frames;
  }

  private finish(): RelpFrame {
    const f: RelpFrame = { txnr: this.txnr, command: this.command, data: this.datalen === 0 ? Buffer.alloc(0) : this.data };
    this.state = State.Txnr;
    this.digits = 0;
    this.txnr = 0;
    this.command = '';
    this.datalen = 0;
    this.data = Buffer.alloc(0);
    this.filled = 0;
    return f;
  }

  private fail(what: string): never {
    this.failed = new RelpProtocolError(`malformed RELP frame from the server: ${what}`);
    throw this.failed;
  }
}

export interface RelpResponse {
  code: number;
  text: string;
  /** what follows the first LF (the server's offers in the answer to "open") */
  body: string;
}

/** Splits the DATA of an "rsp" frame: RSP-CODE [SP HUMANMSG] [LF CMDDATA]. */
export function parseResponse(data: Buffer): RelpResponse {
  const s = data.toString('utf8');
  const m = /^(\d{3})(?: ([^\n]*))?(?:\n([\s\S]*))?$/.exec(s);
  if (!m) throw new RelpProtocolError(`malformed RELP response: ${JSON.stringify(s.slice(0, 80))} (expected a 3-digit code)`);
  return { code: Number(m[1]), text: m[2] ?? '', body: m[3] ?? '' };
}

/** Offers ("name=value,value" lines) of an open command or its response. */
export function parseOffers(body: string): Map<string, string[]> {
  const offers = new Map<string, string[]>();
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    const values =
      eq < 0
        ? []
        : line
            .slice(eq + 1)
            .split(',')
            .filter((v) => v !== '');
    offers.set(name, values);
  }
  return offers;
}
