// Sysmon's ProcessGuid/LogonGuid layout (SysmonCommon GenerateUniqueId):
// Data1 = machine id, Data2/Data3 = low/high 16 bits of a Unix time in seconds,
// Data4 = the little-endian bytes of a 64-bit per-object key.
// Our process key: low 32 bits = pid, high 32 bits = low 32 bits of mm->end_code (the key
// Sysmon for Linux uses), so it is unique per exec, stable for its life, and derivable from
// /proc/<pid>/stat for processes that predate the monitor.

const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

/** Buffer#latin1Slice (Node's, untyped): toString's decode without its argument normalization */
type Latin1Slicer = { latin1Slice(start: number, end: number): string };

const HEX_DIGIT = Buffer.from('0123456789abcdef', 'latin1');
/** "{dddddddd-llll-hhhh-kkkk-kkkkkkkkkkkk}": the punctuation is written once */
const guidBytes = Buffer.from('{00000000-0000-0000-0000-000000000000}', 'latin1') as Buffer & Latin1Slicer;

/** v's low 16 bits as 4 hex digits at guidBytes[at..] */
function putHex16(at: number, v: number): void {
  guidBytes[at] = HEX_DIGIT[(v >>> 12) & 15]!;
  guidBytes[at + 1] = HEX_DIGIT[(v >>> 8) & 15]!;
  guidBytes[at + 2] = HEX_DIGIT[(v >>> 4) & 15]!;
  guidBytes[at + 3] = HEX_DIGIT[v & 15]!;
}

/** the byte v's 2 hex digits at guidBytes[at..] */
function putByteHex(at: number, v: number): void {
  guidBytes[at] = HEX_DIGIT[(v >>> 4) & 15]!;
  guidBytes[at + 1] = HEX_DIGIT[v & 15]!;
}

/**
 * The GUID's text decoded from its 38 bytes: one flat string. A template literal left a tree
 * of ~13 concatenated strings (~450 heap bytes) that had to be flattened (the process table
 * keeps one GUID per process, and the EventData writer reads every character).
 * `keyLo`/`keyHi`: the key's low and high 32 bits (unsigned).
 */
function formatGuidParts(data1Hex: string, seconds: number, keyLo: number, keyHi: number): string {
  for (let i = 0; i < 8; i++) guidBytes[1 + i] = data1Hex.charCodeAt(i);
  putHex16(10, seconds & 0xffff);
  putHex16(15, Math.floor(seconds / 0x10000) & 0xffff);
  // Data4: the key's 8 bytes little-endian, the first two before the dash
  putByteHex(20, keyLo & 0xff);
  putByteHex(22, (keyLo >>> 8) & 0xff);
  putByteHex(25, (keyLo >>> 16) & 0xff);
  putByteHex(27, keyLo >>> 24);
  putByteHex(29, keyHi & 0xff);
  putByteHex(31, (keyHi >>> 8) & 0xff);
  putByteHex(33, (keyHi >>> 16) & 0xff);
  putByteHex(35, keyHi >>> 24);
  return guidBytes.latin1Slice(0, 38);
}

export function formatGuid(data1: number, seconds: number, key: bigint): string {
  return formatGuidParts(hex(data1 >>> 0, 8), seconds, Number(BigInt.asUintN(32, key)), Number(BigInt.asUintN(32, key >> 32n)));
}

/** USER_HZ: /proc reports start times in these ticks, and so must we, to agree with it. */
export const USER_HZ = 100;
const NS_PER_TICK = 1_000_000_000n / BigInt(USER_HZ);

/**
 * The low 32 bits of end_code, as a signed int32: the high half of a process GUID's key
 * (formatted unsigned, `key >>> 0`). Signed so that V8 keeps it a small integer in every
 * object that holds it: as an unsigned value, the first end_code at or above 2^31 turned the
 * field into a double and deoptimized every process handler in the middle of a storm.
 */
export function guidKey(endCode: bigint): number {
  return Number(BigInt.asIntN(32, endCode));
}

export function startTicks(startBootNs: bigint): number {
  return Number(startBootNs / NS_PER_TICK);
}

const TICK_NS = 1_000_000_000 / USER_HZ;
/** 2^32 = TICKS_PER_HI * TICK_NS + HI_REST */
const TICKS_PER_HI = Math.floor(2 ** 32 / TICK_NS);
const HI_REST = 2 ** 32 - TICKS_PER_HI * TICK_NS;

/**
 * startTicks of the u64 `hi` * 2^32 + `lo` (a record's two halves), with no BigInt: exact while
 * HI_REST * hi + lo stays below 2^53 (hi < 1.8e9), i.e. for start times up to ~245 years after boot.
 */
export function startTicksOf(lo: number, hi: number): number {
  // rest is an exact integer below 2^53; rest / TICK_NS is below 2^30, where a double's spacing
  // (<= 2^-23) is finer than the quotient's distance to the next integer (>= 1 / TICK_NS) and
  // division rounds to nearest: flooring it gives floor(rest / TICK_NS) exactly
  const rest = HI_REST * hi + lo;
  return TICKS_PER_HI * hi + Math.floor(rest / TICK_NS);
}

export class GuidMaker {
  private readonly machineHex: string;

  constructor(
    machine: number,
    private readonly bootTimeSec: number,
  ) {
    this.machineHex = hex(machine >>> 0, 8);
  }

  /** `ticks` = process start in USER_HZ ticks since boot, as in /proc/<pid>/stat field 22. */
  process(pid: number, ticks: number, endCode: bigint): string {
    return this.processByKey(pid, ticks, guidKey(endCode));
  }

  /** process() with end_code's low 32 bits given as a number (guidKey) */
  processByKey(pid: number, ticks: number, key: number): string {
    const seconds = this.bootTimeSec + Math.floor(ticks / USER_HZ);
    return formatGuidParts(this.machineHex, seconds, pid >>> 0, key >>> 0);
  }

  /**
   * Sysmon for Linux's LogonGuid (GenerateUniqueSGUID): key = tty index << 32 | real uid, time =
   * the uid's utmp logon time on that tty (src/events/utmp.ts); both 0 without a terminal.
   */
  linuxLogon(uid: number, ttyIndex = 0, logonTimeSec = 0): string {
    // every ProcessCreate has one and an exec storm repeats the same three facts: the last
    // GUID is kept and returned while they stay the same (no string built per exec)
    if (uid !== this.lastLogon.uid || ttyIndex !== this.lastLogon.tty || logonTimeSec !== this.lastLogon.time) {
      this.lastLogon = { uid, tty: ttyIndex, time: logonTimeSec, guid: formatGuidParts(this.machineHex, logonTimeSec, uid >>> 0, ttyIndex >>> 0) };
    }
    return this.lastLogon.guid;
  }

  private lastLogon = { uid: NaN, tty: NaN, time: NaN, guid: '' };

  /** --windows: key = audit session id << 32 | login uid; no logon time. */
  logon(loginUid: number, session: number): string {
    return formatGuidParts(this.machineHex, 0, loginUid >>> 0, session >>> 0);
  }
}

export const NULL_GUID = '{00000000-0000-0000-0000-000000000000}';
