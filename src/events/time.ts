// Sysmon's two time formats. UtcTime: "YYYY-MM-DD HH:MM:SS.mmm" (the time of the action);
// TimeCreated: ISO 8601 with 9 fractional digits, as Sysmon for Linux writes it.

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function dateParts(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`
    + ` ${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
}

export function utcTime(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return `${dateParts(ms)}.${pad(ms % 1000, 3)}`;
}

export function isoTime(ns: bigint): string {
  const sec = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  return `${dateParts(Number(sec) * 1000).replace(' ', 'T')}.${frac.toString().padStart(9, '0')}Z`;
}

export function nowNs(): bigint {
  // Date.now() has ms resolution; add hrtime's sub-ms part so ordering within a ms survives.
  return BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
}
