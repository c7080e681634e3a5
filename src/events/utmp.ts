// Logon times from utmp, for Sysmon for Linux's LogonGuid (GetLogonTime: the time the user
// logged on to the terminal the process runs on). The file is read again at most once per
// REFRESH_MS and only for processes that have a terminal, so an exec costs a Map lookup.
import { readFileSync } from 'node:fs';

/** glibc's struct utmp on 64-bit Linux (utmp(5)) */
const RECORD = 384;
const UT_LINE = 8;
const UT_USER = 44;
const UT_TV_SEC = 340;
const USER_PROCESS = 7;
const REFRESH_MS = 1000;

function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end === -1 || end > off + len ? off + len : end);
}

/** The utmp line of a terminal as the kernel record gives it (driver major << 20 | index). */
export function ttyLine(tty: number): string | null {
  if (tty === 0) return null;
  const major = tty >>> 20;
  const index = tty & 0xfffff;
  if (major >= 136 && major <= 143) return `pts/${index}`;
  if (major === 4) return index < 64 ? `tty${index}` : `ttyS${index - 64}`;
  return null;
}

/** /proc/PID/stat's tty_nr (a dev_t) in the record's encoding (driver major << 20 | index). */
export function ttyFromStat(ttyNr: number): number {
  if (ttyNr === 0) return 0;
  const major = (ttyNr >>> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return (136 << 20) | ((major - 136) * 256 + minor);
  return (major << 20) | minor;
}

export class UtmpLogons {
  /** "line\0user" -> logon time (Unix seconds) of the newest USER_PROCESS entry */
  private logons = new Map<string, number>();
  private readAt = -Infinity;

  constructor(
    private readonly path = '/var/run/utmp',
    private readonly now: () => number = Date.now,
  ) {}

  /** Logon time in Unix seconds of `user` on `line` (pts/3), 0 when utmp has none. */
  logonTime(line: string, user: string): number {
    const t = this.now();
    if (t - this.readAt >= REFRESH_MS) {
      this.readAt = t;
      this.load();
    }
    return this.logons.get(`${line}\0${user}`) ?? 0;
  }

  private load(): void {
    const logons = new Map<string, number>();
    let b: Buffer;
    try {
      b = readFileSync(this.path);
    } catch {
      this.logons = logons;
      return;
    } // no utmp: no logon times
    for (let off = 0; off + RECORD <= b.length; off += RECORD) {
      if (b.readInt16LE(off) !== USER_PROCESS) continue;
      const key = `${cstr(b, off + UT_LINE, 32)}\0${cstr(b, off + UT_USER, 32)}`;
      const sec = b.readInt32LE(off + UT_TV_SEC);
      if (sec > (logons.get(key) ?? 0)) logons.set(key, sec);
    }
    this.logons = logons;
  }
}
