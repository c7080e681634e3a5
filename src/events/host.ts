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
  } catch {
    /* fall through */
  }
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

type GetpwuidR = (uid: number, pwd: { pw_name?: string }, buf: Buffer, len: number, result: unknown[]) => number;
let getpwuidR: GetpwuidR | null = null;

/**
 * getpwuid_r(3) through koffi: the name NSS gives (files, SSSD, LDAP... as nsswitch.conf says),
 * null when there is no entry. Synchronous (NSS may ask a directory server): call it through
 * UserNames, which caches.
 */
export function lookupUserName(uid: number): string | null {
  if (!getpwuidR) {
    if (process.platform !== 'linux') return null;
    const libc = koffi.load('libc.so.6');
    koffi.struct('sysmon_passwd', {
      pw_name: 'char *',
      pw_passwd: 'char *',
      pw_uid: 'uint32_t',
      pw_gid: 'uint32_t',
      pw_gecos: 'char *',
      pw_dir: 'char *',
      pw_shell: 'char *',
    });
    getpwuidR = libc.func('int getpwuid_r(uint32_t uid, _Out_ sysmon_passwd *pwd, _Out_ uint8_t *buf, size_t buflen, _Out_ void **result)') as GetpwuidR;
  }
  for (let size = 16384; size <= 1 << 20; size *= 4) {
    const pwd: { pw_name?: string } = {};
    const result: unknown[] = [null];
    const rc = getpwuidR(uid >>> 0, pwd, Buffer.alloc(size), size, result);
    if (rc === 34 /* ERANGE: a larger buffer */) continue;
    if (rc !== 0 || result[0] === null || !pwd.pw_name) return null;
    return pwd.pw_name;
  }
  return null;
}

/**
 * uid -> user name through NSS, cached: a known uid costs a Map lookup; an unknown one is asked
 * once, and again at most every RETRY_MS (a user created later gets its name). No entry gives
 * '-', as Sysmon for Linux writes it (TranslateSid: getpwuid_r fails -> empty -> '-').
 */
export class UserNames {
  private readonly names = new Map<number, string>();
  private readonly missing = new Map<number, number>();
  static readonly RETRY_MS = 5_000;

  constructor(private readonly lookup: (uid: number) => string | null = lookupUserName) {}

  name(uid: number): string {
    const n = this.names.get(uid);
    if (n !== undefined) return n;
    const failedAt = this.missing.get(uid);
    const now = Date.now();
    if (failedAt !== undefined && now - failedAt < UserNames.RETRY_MS) return '-';
    let found: string | null = null;
    try {
      found = this.lookup(uid);
    } catch {
      found = null;
    }
    if (found === null) {
      this.missing.set(uid, now);
      return '-';
    }
    this.missing.delete(uid);
    this.names.set(uid, found);
    return found;
  }
}
