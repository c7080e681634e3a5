// Windows Sysmon's value formats for what the Windows driver sends raw: FILETIMEs, the
// token's integrity RID, registry data (event 13 Details), return addresses (CallTrace).
import { utcTime } from '../../events/time.js';

/** 100 ns intervals between 1601-01-01 and 1970-01-01 */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** FILETIME (100 ns since 1601, UTC) -> Unix ns; 0 (unknown) stays 0. */
export function filetimeToUnixNs(ft: bigint): bigint {
  return ft === 0n ? 0n : (ft - FILETIME_UNIX_EPOCH) * 100n;
}

/** A FILETIME as UtcTime, or '-' when the driver had none. */
export function filetimeUtc(ft: bigint): string {
  return ft === 0n ? '-' : utcTime(filetimeToUnixNs(ft));
}

/** The token's mandatory label RID -> Sysmon's IntegrityLevel (SECURITY_MANDATORY_*_RID). */
export function integrityLevel(rid: number): string {
  if (rid === 0xffffffff) return '-';
  if (rid >= 0x4000) return 'System';
  if (rid >= 0x3000) return 'High';
  if (rid >= 0x2000) return 'Medium';
  if (rid >= 0x1000) return 'Low';
  return 'Untrusted';
}

export const RegType = { SZ: 1, EXPAND_SZ: 2, BINARY: 3, DWORD: 4, DWORD_BIG_ENDIAN: 5, MULTI_SZ: 7, QWORD: 11 } as const;

const hex8 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Event 13's Details: "DWORD (0x00000004)", "QWORD (0xHIGH-0xLOW)", the text of a string
 * value ("(Empty)" when empty), "Binary Data" for everything else (as Sysmon). `data` holds
 * at most the driver's first 1024 bytes: a longer string is cut there.
 */
export function registryDetails(type: number, data: Buffer): string {
  switch (type) {
    case RegType.DWORD:
      return data.length >= 4 ? `DWORD (${hex8(data.readUInt32LE(0))})` : 'Binary Data';
    case RegType.DWORD_BIG_ENDIAN:
      return data.length >= 4 ? `DWORD (${hex8(data.readUInt32BE(0))})` : 'Binary Data';
    case RegType.QWORD:
      return data.length >= 8 ? `QWORD (${hex8(data.readUInt32LE(4))}-${hex8(data.readUInt32LE(0))})` : 'Binary Data';
    case RegType.SZ:
    case RegType.EXPAND_SZ: {
      const text = data.subarray(0, data.length & ~1).toString('utf16le');
      const nul = text.indexOf('\0');
      const s = nul < 0 ? text : text.slice(0, nul);
      return s === '' ? '(Empty)' : s;
    }
    default:
      return 'Binary Data';
  }
}

/** An image mapped into a process: what names a return address. */
export interface LoadedModule {
  base: bigint;
  size: bigint;
  /** DOS path */
  path: string;
}

/** Sysmon's unresolvable frame: UNKNOWN(00007FFA12345678). */
export function unknownFrame(addr: bigint): string {
  return `UNKNOWN(${addr.toString(16).toUpperCase().padStart(16, '0')})`;
}

/** One frame as module+offset (hex), or UNKNOWN(address). */
export function frameName(addr: bigint, modules: readonly LoadedModule[]): string {
  for (const m of modules) {
    if (addr >= m.base && addr < m.base + m.size) return `${m.path}+${(addr - m.base).toString(16)}`;
  }
  return unknownFrame(addr);
}

/** CallTrace: frames innermost first, '|'-separated, '-' when there is no stack. */
export function callTrace(frames: readonly bigint[], modules: readonly LoadedModule[]): string {
  return frames.length === 0 ? '-' : frames.map((f) => frameName(f, modules)).join('|');
}

const EXECUTABLE_EXTENSIONS = /\.(exe|dll|sys|scr|com|cpl|ocx|drv|efi)$/i;

/** FileDelete's IsExecutable from the name (the file is gone before its header can be read). */
export function looksExecutable(path: string): boolean {
  return EXECUTABLE_EXTENSIONS.test(path);
}
