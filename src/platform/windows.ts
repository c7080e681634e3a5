// Windows start-up facts for the capture, through koffi: the machine GUID (ProcessGuid),
// the interrupt-time clock the driver stamps records with, NT device -> drive letters
// (QueryDosDeviceW) and SID -> DOMAIN\name (LookupAccountSidW). No /proc: the process table
// is fed by the driver's records (src/events/windows/processes.ts). Every native call checks
// the platform first and throws a clear error elsewhere; windowsPlatformCapture() takes the
// facts as arguments, which is how the tests drive the same code on Linux.
import koffi from 'koffi';
import { Capture } from '../capture.js';
import type { PlatformCapture } from './types.js';
import { GuidMaker } from '../events/guid.js';
import { UserNames } from '../events/host.js';
import { ProcessTable } from '../events/processes.js';
import { decodeWindowsEvent, windowsCapture } from '../events/windows/handlers.js';
import type { WindowsHostFacts } from '../events/windows/host-facts.js';
import { DeviceMap } from '../events/windows/paths.js';

type Fn = (...args: unknown[]) => unknown;
interface Native {
  RegGetValueW: Fn; QueryDosDeviceW: Fn; QueryInterruptTimePrecise: Fn;
  ConvertStringSidToSidW: Fn; LookupAccountSidW: Fn; LocalFree: Fn;
}
let native: Native | null = null;

function win(what: string): Native {
  if (process.platform !== 'win32') throw new Error(`${what} is read through Windows APIs, on Windows only (this is ${process.platform})`);
  if (native) return native;
  const kernel32 = koffi.load('kernel32.dll');
  const kernelbase = koffi.load('kernelbase.dll');
  const advapi32 = koffi.load('advapi32.dll');
  native = {
    RegGetValueW: advapi32.func('__stdcall', 'RegGetValueW', 'int32_t', ['intptr_t', 'str16', 'str16', 'uint32_t', 'void *', '_Out_ uint8_t *', '_Inout_ uint32_t *']),
    QueryDosDeviceW: kernel32.func('__stdcall', 'QueryDosDeviceW', 'uint32_t', ['str16', '_Out_ uint8_t *', 'uint32_t']),
    QueryInterruptTimePrecise: kernelbase.func('__stdcall', 'QueryInterruptTimePrecise', 'void', ['_Out_ uint64_t *']),
    ConvertStringSidToSidW: advapi32.func('__stdcall', 'ConvertStringSidToSidW', 'int', ['str16', '_Out_ void **']),
    LookupAccountSidW: advapi32.func('__stdcall', 'LookupAccountSidW', 'int',
      ['str16', 'void *', '_Out_ uint8_t *', '_Inout_ uint32_t *', '_Out_ uint8_t *', '_Inout_ uint32_t *', '_Out_ uint32_t *']),
    LocalFree: kernel32.func('__stdcall', 'LocalFree', 'void *', ['void *']),
  };
  return native;
}

/** HKEY_LOCAL_MACHINE: (HKEY)(ULONG_PTR)(LONG)0x80000002, sign-extended on 64-bit Windows */
const HKEY_LOCAL_MACHINE = -0x7ffffffe;
const RRF_RT_REG_SZ = 0x2;

const wstr = (b: Buffer, chars: number): string => b.subarray(0, 2 * chars).toString('utf16le').replace(/\0.*$/s, '');

export function machineGuid(): string {
  const k = win('the machine GUID');
  const buf = Buffer.alloc(512);
  const size = [buf.length];
  const rc = k.RegGetValueW(HKEY_LOCAL_MACHINE, 'SOFTWARE\\Microsoft\\Cryptography', 'MachineGuid', RRF_RT_REG_SZ, null, buf, size) as number;
  if (rc !== 0) throw new Error(`RegGetValueW(HKLM\\SOFTWARE\\Microsoft\\Cryptography\\MachineGuid) failed (error ${rc})`);
  return wstr(buf, buf.length / 2);
}

/** Wall clock minus interrupt time (the driver's record clock, sleep included), in Unix ns. */
export function windowsBootEpochNs(): bigint {
  const k = win('the interrupt time');
  const t = [0n];
  k.QueryInterruptTimePrecise(t);
  return BigInt(Date.now()) * 1_000_000n - BigInt(t[0]!) * 100n;
}

/** Drive letters A: to Z: and the NT devices they stand for. */
export function windowsDeviceMap(): DeviceMap {
  const k = win('the DOS device map');
  const drives: [string, string][] = [];
  const buf = Buffer.alloc(2048);
  for (let c = 65; c <= 90; c++) {
    const drive = `${String.fromCharCode(c)}:`;
    const n = k.QueryDosDeviceW(drive, buf, buf.length / 2) as number;
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
  const k = win('account names');
  const psid: unknown[] = [null];
  if (!k.ConvertStringSidToSidW(sid, psid)) return null;
  try {
    const name = Buffer.alloc(512), domain = Buffer.alloc(512);
    const nameLen = [256], domainLen = [256], use = [0];
    if (!k.LookupAccountSidW(null, psid[0], name, nameLen, domain, domainLen, use)) return null;
    const d = wstr(domain, domainLen[0]!);
    const u = wstr(name, nameLen[0]!);
    return d ? `${d}\\${u}` : u;
  } finally {
    k.LocalFree(psid[0]);
  }
}

export function windowsHostFacts(): WindowsHostFacts {
  const accounts = new WindowsAccounts();
  return { machineGuid: machineGuid(), devices: windowsDeviceMap(), accountName: (sid) => accounts.name(sid) };
}

/** The Windows capture over given facts and clock (the tests' entry; startWindowsCapture's core). */
export function windowsPlatformCapture(facts: WindowsHostFacts, bootEpochNs: () => bigint): PlatformCapture {
  const win32 = windowsCapture(facts);
  // Capture's Linux process table stays empty here: the Windows handlers keep their own
  const unused = new ProcessTable(new GuidMaker(0, 0), new UserNames(''));
  return {
    capture: new Capture(unused, bootEpochNs(), { decode: decodeWindowsEvent, handlers: win32.handlers, containers: false }),
    // no /proc: processes that started before the service are named when they exit or act
    seedProcesses: () => 0,
    processCount: () => win32.processes.size,
    sweep: (nowMs) => win32.processes.sweep(nowMs),
    bootEpochNs,
  };
}

export function startWindowsCapture(): PlatformCapture {
  return windowsPlatformCapture(windowsHostFacts(), windowsBootEpochNs);
}
