// Facts about this Linux host that every event needs: machine id (GUIDs), boot time (kernel
// timestamps -> wall clock), and uid -> user name. The Windows ones are in src/platform/windows.ts;
// the agent reaches either through src/platform/index.ts.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import koffi from 'koffi';

const CLOCK_REALTIME = 0;
const CLOCK_BOOTTIME = 7;
type ClockGettime = (clk: number, ts: BigInt64Array) => number;
let clockGettime: ClockGettime | null = null;

// libc is bound on first use, not at import (as src/kernel/ffi.ts does with libbpf), so the
// modules that import this one (every Linux normalizer, through capture.ts) load on Windows too
function clockNs(clk: number): bigint {
  if (!clockGettime) {
    if (process.platform !== 'linux') throw new Error(`CLOCK_BOOTTIME is read through libc on Linux only (this is ${process.platform})`);
    clockGettime = koffi.load('libc.so.6').func('int clock_gettime(int clk, int64_t *ts)') as ClockGettime;
  }
  const ts = new BigInt64Array(2);
  if (clockGettime(clk, ts) !== 0) throw new Error(`clock_gettime(${clk}) failed`);
  return ts[0]! * 1_000_000_000n + ts[1]!;
}

/** Sysmon for Linux: the first 8 hex digits of /etc/machine-id. */
export function machineId(): number {
  try {
    const id = readFileSync('/etc/machine-id', 'utf8').trim();
    const n = Number.parseInt(id.slice(0, 8), 16);
    if (Number.isFinite(n)) return n >>> 0;
  } catch { /* fall through */ }
  return 0;
}

/** /proc/stat btime: boot time in Unix seconds, the base /proc uses for process start times. */
export function bootTimeSeconds(): number {
  const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  if (!m) throw new Error('no btime in /proc/stat');
  return Number(m[1]);
}

/** Wall clock minus CLOCK_BOOTTIME: adds to bpf_ktime_get_boot_ns() to give Unix ns. */
export function bootEpochNs(): bigint {
  const a = clockNs(CLOCK_REALTIME);
  const boot = clockNs(CLOCK_BOOTTIME);
  const b = clockNs(CLOCK_REALTIME);
  return (a + b) / 2n - boot;
}

export function computerName(): string {
  return hostname();
}

/** uid -> name from /etc/passwd, re-read when an unknown uid shows up (new users). */
export class UserNames {
  private names = new Map<number, string>();
  private loadedAt = 0;

  constructor(private readonly passwd = '/etc/passwd') {
    this.reload();
  }

  private reload(): void {
    this.loadedAt = Date.now();
    const names = new Map<number, string>();
    try {
      for (const line of readFileSync(this.passwd, 'utf8').split('\n')) {
        const f = line.split(':');
        if (f.length >= 3 && f[0]) names.set(Number(f[2]), f[0]);
      }
    } catch { /* keep what we had */ return; }
    this.names = names;
  }

  name(uid: number): string {
    let n = this.names.get(uid);
    if (n === undefined && Date.now() - this.loadedAt > 5_000) {
      this.reload();
      n = this.names.get(uid);
    }
    return n ?? String(uid);
  }
}
