// Sysmon's two time formats. UtcTime: "YYYY-MM-DD HH:MM:SS.mmm" (the time of the action);
// TimeCreated: ISO 8601 with 9 fractional digits, as Sysmon for Linux writes it.
//
// Hot path (two strings per event): the "YYYY-MM-DD HH:MM:SS" part changes once a second,
// so each format keeps the last second it built and only appends the fraction.

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function dateParts(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    ` ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`
  );
}

const PAD3 = ['', '00', '0', ''];
const PAD9 = ['', '00000000', '0000000', '000000', '00000', '0000', '000', '00', '0', ''];

// last second seen by each format (NaN: none yet) and its "YYYY-MM-DD HH:MM:SS" text
let utcSec = NaN;
let utcPrefix = '';
let isoSec = NaN;
let isoPrefix = '';

/** the uncached formats, for times the cache does not handle (before 1970) and for tests */
export function utcTimeSlow(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return `${dateParts(ms)}.${pad(ms % 1000, 3)}`;
}

export function isoTimeSlow(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  return `${dateParts(Number(sec) * 1000).replace(' ', 'T')}.${frac.toString().padStart(9, '0')}Z`;
}

/** Buffer#latin1Slice (Node's, untyped): toString's decode without its argument normalization */
type Latin1Slicer = { latin1Slice(start: number, end: number): string };

/** "YYYY-MM-DD HH:MM:SS.mmm" as bytes: the second's prefix written once a second, the ms per call */
const utcBytes = Buffer.alloc(23) as Buffer & Latin1Slicer;
let utcMs = NaN;
let utcText = '';

/**
 * The text is decoded from bytes, so it is one flat string: a concatenation (prefix + digits)
 * is a cons string that the EventData writer flattens on its first character read, an
 * allocation and a copy per event. Events of one millisecond share the string.
 */
export function utcTime(ns: bigint): string {
  if (ns < 0n) return utcTimeSlow(ns);
  const ms = Number(ns / 1_000_000n);
  if (ms === utcMs) return utcText;
  const msPart = ms % 1000;
  const sec = (ms - msPart) / 1000;
  if (sec !== utcSec) {
    utcPrefix = `${dateParts(ms - msPart)}.`;
    utcSec = sec;
    // a year past 9999 does not fit the 23-byte layout: those take the concatenation below
    if (utcPrefix.length === 20) utcBytes.write(utcPrefix, 0, 20, 'latin1');
  }
  if (utcPrefix.length !== 20) {
    const m = String(msPart);
    return utcPrefix + PAD3[m.length] + m;
  }
  const tens = Math.floor(msPart / 10);
  utcBytes[20] = 48 + Math.floor(msPart / 100);
  utcBytes[21] = 48 + (tens % 10);
  utcBytes[22] = 48 + (msPart - tens * 10);
  utcMs = ms;
  utcText = utcBytes.latin1Slice(0, 23);
  return utcText;
}

export function isoTime(ns: bigint): string {
  if (ns < 0n) return isoTimeSlow(ns);
  const secBig = ns / 1_000_000_000n;
  const sec = Number(secBig);
  if (sec !== isoSec) {
    isoPrefix = `${dateParts(sec * 1000).replace(' ', 'T')}.`;
    isoSec = sec;
  }
  const f = String(Number(ns - secBig * 1_000_000_000n));
  return `${isoPrefix}${PAD9[f.length]}${f}Z`;
}

export function nowNs(): bigint {
  // Date.now() has ms resolution; add hrtime's sub-ms part so ordering within a ms survives.
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}
