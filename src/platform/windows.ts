// Windows start-up facts for the capture, through koffi: the machine GUID (ProcessGuid),
// the interrupt-time clock the driver stamps records with, NT device -> drive letters
// (QueryDosDeviceW) and SID -> DOMAIN\name (LookupAccountSidW). No /proc: the process table
// is fed by the driver's records (src/families/windows/processes.ts). Every native call checks
// the platform first and throws a clear error elsewhere; windowsPlatformCapture() takes the
// facts as arguments, which is how the tests drive the same code on Linux.
import koffi from 'koffi';
import { Capture } from '../capture.js';
import type { PlatformCapture } from './types.js';
import { GuidMaker } from '../events/guid.js';
import { UserNames } from '../events/host.js';
import { ProcessTable } from '../events/processes.js';
import { WINDOWS_FAMILIES } from '../families/windows.generated.js';
import { recordTable } from '../families/registry.js';
import { decodeWindowsRecord } from '../families/windows/records.js';
import type { WindowsHostFacts } from '../families/windows/host-facts.js';
import { DeviceMap } from '../families/windows/paths.js';

type Fn = (...args: unknown[]) => unknown;
const SIGNATURES = {
  RegGetValueW: ['advapi32.dll', 'int32_t', ['intptr_t', 'str16', 'str16', 'uint32_t', 'void *', '_Out_ uint8_t *', '_Inout_ uint32_t *']],
  QueryDosDeviceW: ['kernel32.dll', 'uint32_t', ['str16', '_Out_ uint8_t *', 'uint32_t']],
  // copies from an address given as an integer: how the KUSER_SHARED_DATA page is read
  RtlMoveMemory: ['kernel32.dll', 'void', ['_Out_ uint8_t *', 'uintptr_t', 'size_t']],
  ConvertStringSidToSidW: ['advapi32.dll', 'int', ['str16', '_Out_ void **']],
  LookupAccountSidW: [
    'advapi32.dll',
    'int',
    ['str16', 'void *', '_Out_ uint8_t *', '_Inout_ uint32_t *', '_Out_ uint8_t *', '_Inout_ uint32_t *', '_Out_ uint32_t *'],
  ],
  LocalFree: ['kernel32.dll', 'void *', ['void *']],
} as const;
type NativeName = keyof typeof SIGNATURES;
const bound = new Map<NativeName, Fn>();

/**
 * One Windows function, bound on first use: each fact binds only what it calls, so an export
 * one Windows (or Wine) lacks fails that fact with its name instead of every fact.
 */
function win(name: NativeName, what: string): Fn {
  if (process.platform !== 'win32') throw new Error(`${what} is read through Windows APIs, on Windows only (this is ${process.platform})`);
  let f = bound.get(name);
  if (!f) {
    const [dll, ret, args] = SIGNATURES[name];
    f = koffi.load(dll).func('__stdcall', name, ret, [...args]) as Fn;
    bound.set(name, f);
  }
  return f;
}

/** HKEY_LOCAL_MACHINE: (HKEY)(ULONG_PTR)(LONG)0x80000002, sign-extended on 64-bit Windows */
const HKEY_LOCAL_MACHINE = -0x7ffffffe;
const RRF_RT_REG_SZ = 0x2;

const wstr = (b: Buffer, chars: number): string =>
  b
    .subarray(0, 2 * chars)
    .toString('utf16le')
    .replace(/\0.*$/s, '');

export function machineGuid(): string {
  const buf = Buffer.alloc(512);
  const size = [buf.length];
  const rc = win('RegGetValueW', 'the machine GUID')(
    HKEY_LOCAL_MACHINE,
    'SOFTWARE\\Microsoft\\Cryptography',
    'MachineGuid',
    RRF_RT_REG_SZ,
    null,
    buf,
    size,
  ) as number;
  if (rc !== 0) throw new Error(`RegGetValueW(HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid) failed (error ${rc})`);
  return wstr(buf, buf.length / 2);
}

/** KUSER_SHARED_DATA.InterruptTime: mapped at this address in every process (read-only). */
const USER_SHARED_INTERRUPT_TIME = 0x7ffe0008;

/**
 * The interrupt time (100 ns units since boot, sleep included), read from KUSER_SHARED_DATA
 * as the driver reads it (ids.c), so both sides use one clock. Not QueryInterruptTimePrecise:
 * that is a Windows 10 export Wine 8 lacks. A KSYSTEM_TIME is LowPart, High1Time, High2Time:
 * a read is consistent when both highs agree (the writer updates High2, Low, then High1).
 */
export function interruptTime100ns(): bigint {
  const copy = win('RtlMoveMemory', 'the interrupt time');
  const b = Buffer.alloc(12);
  for (let tries = 0; tries < 1000; tries++) {
    copy(b, USER_SHARED_INTERRUPT_TIME, 12);
    const high1 = b.readUInt32LE(4),
      high2 = b.readUInt32LE(8);
    if (high1 === high2) return (BigInt(high1) << 32n) | BigInt(b.readUInt32LE(0));
  }
  throw new Error('KUSER_SHARED_DATA.InterruptTime never read consistently (1000 tries)');
}

/** Wall clock minus interrupt time (the driver's record clock, sleep included), in Unix ns. */
export function windowsBootEpochNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - interruptTime100ns() * 100n;
}

/** Drive letters A: to Z: and the NT devices they stand for. */
export function windowsDeviceMap(): DeviceMap {
  const query = win('QueryDosDeviceW', 'the DOS device map');
  const drives: [string, string][] = [];
  const buf = Buffer.alloc(2048);
  for (let c = 65; c <= 90; c++) {
    const drive = `${String.fromCharCode(c)}:`;
    const n = query(drive, buf, buf.length / 2) as number;
    if (n > 0) drives.push([drive, wstr(buf, n)]);
  }
  return new DeviceMap(drives, process.env.SystemRoot ?? 'C:\\Windows');
}

/** SID -> DOMAIN\name, remembered (a SID's name rarely changes; the SID is kept when it has none). */
export class WindowsAccounts {
  private readonly names = new Map<string, string>();

  name(sid: string): string {
    let n = this.names.get(sid);
    if (n === undefined) {
      n = lookupAccount(sid) ?? sid;
      if (this.names.size > 10_000) this.names.clear();
      this.names.set(sid, n);
    }
    return n;
  }
}

function lookupAccount(sid: string): string | null {
  const psid: unknown[] = [null];
  if (!win('ConvertStringSidToSidW', 'account names')(sid, psid)) return null;
  try {
    const name = Buffer.alloc(512),
      domain = Buffer.alloc(512);
    const nameLen = [256],
      domainLen = [256],
      use = [0];
    if (!win('LookupAccountSidW', 'account names')(null, psid[0], name, nameLen, domain, domainLen, use)) return null;
    const d = wstr(domain, domainLen[0]!);
    const u = wstr(name, nameLen[0]!);
    return d ? `${d}\\${u}` : u;
  } finally {
    win('LocalFree', 'account names')(psid[0]);
  }
}

export function windowsHostFacts(): WindowsHostFacts {
  const accounts = new WindowsAccounts();
  return { machineGuid: machineGuid(), devices: windowsDeviceMap(), accountName: (sid) => accounts.name(sid) };
}

/** The Windows capture over given facts and clock (the tests' entry; startWindowsCapture's core). */
export function windowsPlatformCapture(facts: WindowsHostFacts, bootEpochNs: () => bigint): PlatformCapture {
  const [family] = WINDOWS_FAMILIES;
  const win32 = family.bind(facts);
  // Capture's Linux process table stays empty here: the Windows handlers keep their own
  const unused = new ProcessTable(new GuidMaker(0, 0), new UserNames(() => null));
  const table = recordTable([{ ...family, handlers: win32.handlers }]);
  return {
    capture: new Capture(unused, bootEpochNs(), { decode: decodeWindowsRecord, handlers: table.handlers, containers: false }),
    // no /proc: processes that started before the service are named when they exit or act
    seedProcesses: () => 0,
    processCount: () => win32.state.size,
    sweep: (nowMs) => win32.state.sweep(nowMs),
    bootEpochNs,
    // the driver registers every callback at load: there is nothing to attach or detach
    programWanted: () => true,
  };
}

export function startWindowsCapture(): PlatformCapture {
  return windowsPlatformCapture(windowsHostFacts(), windowsBootEpochNs);
}
