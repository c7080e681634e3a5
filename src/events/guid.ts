// Sysmon's ProcessGuid/LogonGuid layout (SysmonCommon GenerateUniqueId):
// Data1 = machine id, Data2/Data3 = low/high 16 bits of a Unix time in seconds,
// Data4 = the little-endian bytes of a 64-bit per-object key.
// Our process key: low 32 bits = pid, high 32 bits = low 32 bits of mm->end_code (the key
// Sysmon for Linux uses), so it is unique per exec, stable for its life, and derivable from
// /proc/<pid>/stat for processes that predate the monitor.

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

export function formatGuid(data1: number, seconds: number, key: bigint): string {
  const lo = seconds & 0xffff;
  const hi = Math.floor(seconds / 0x10000) & 0xffff;
  const bytes: string[] = [];
  for (let i = 0n; i < 8n; i++) bytes.push(hex(Number((key >> (8n * i)) & 0xffn), 2));
  return `{${hex(data1 >>> 0, 8)}-${hex(lo, 4)}-${hex(hi, 4)}-${bytes[0]}${bytes[1]}-${bytes.slice(2).join('')}}`;
}

/** USER_HZ: /proc reports start times in these ticks, and so must we, to agree with it. */
export const USER_HZ = 100;
const NS_PER_TICK = 1_000_000_000n / BigInt(USER_HZ);

export function startTicks(startBootNs: bigint): number {
  return Number(startBootNs / NS_PER_TICK);
}

export class GuidMaker {
  constructor(private readonly machine: number, private readonly bootTimeSec: number) {}

  /** `ticks` = process start in USER_HZ ticks since boot, as in /proc/<pid>/stat field 22. */
  process(pid: number, ticks: number, endCode: bigint): string {
    const seconds = this.bootTimeSec + Math.floor(ticks / USER_HZ);
    return formatGuid(this.machine, seconds, (BigInt.asUintN(32, endCode) << 32n) | BigInt(pid >>> 0));
  }

  /**
   * Sysmon for Linux's LogonGuid (GenerateUniqueSGUID): key = tty index << 32 | real uid, time =
   * the uid's utmp logon time on that tty (src/events/utmp.ts); both 0 without a terminal.
   */
  linuxLogon(uid: number, ttyIndex = 0, logonTimeSec = 0): string {
    return formatGuid(this.machine, logonTimeSec, (BigInt(ttyIndex >>> 0) << 32n) | BigInt(uid >>> 0));
  }

  /** --windows: key = audit session id << 32 | login uid; no logon time. */
  logon(loginUid: number, session: number): string {
    return formatGuid(this.machine, 0, (BigInt(session >>> 0) << 32n) | BigInt(loginUid >>> 0));
  }
}

export const NULL_GUID = '{00000000-0000-0000-0000-000000000000}';
