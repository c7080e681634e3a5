// What the Windows normalizers need to know about the machine. On Windows these come from
// native calls (src/platform/windows.ts); tests give them directly.
import type { DeviceMap } from './paths.js';

export interface WindowsHostFacts {
  /** HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid ("{...}" or bare) */
  readonly machineGuid: string;
  /** NT device -> drive letter */
  readonly devices: DeviceMap;
  /** S-1-5-21-... -> DOMAIN\name (LookupAccountSidW); the SID itself when it has no name */
  accountName(sid: string): string;
}

/** Data1 of every ProcessGuid/LogonGuid: the machine GUID's first 32 bits. */
export function machineWord(machineGuid: string): number {
  const hex = machineGuid.replace(/[^0-9a-f]/gi, '').slice(0, 8);
  const n = Number.parseInt(hex, 16);
  return Number.isFinite(n) ? n >>> 0 : 0;
}
