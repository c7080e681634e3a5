// The native CRC32C of driver/native (the SSE4.2 crc32 instruction: ~4x the JavaScript
// slice-by-8 on a journal record, bench/RESULTS.md), loaded through koffi when it was built
// (driver/setup.sh builds it with the BPF objects). Absent (Windows, a checkout where it was
// not built) or switched off with SYSMON_TS_NATIVE=0, the journal's checksums stay in
// JavaScript: the same function, only slower.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';

/** crc32c(buf[start, end)) continuing from `crc`; the caller has checked the bounds. */
export type NativeCrc32c = (buf: Uint8Array, crc: number, start: number, end: number) => number;

const HERE = dirname(fileURLToPath(import.meta.url));
/** src/journal/../.. from sources, dist/src/journal/../../.. compiled */
const ROOT = existsSync(join(HERE, '..', '..', 'package.json')) ? join(HERE, '..', '..') : join(HERE, '..', '..', '..');
export const NATIVE_LIBRARY = join(ROOT, 'driver', 'native', '.output', 'libsysmonts-native.so');

export interface NativeCrc {
  crc32c: NativeCrc32c;
  /** true when the CPU's crc32 instruction does the work (else the library's own tables) */
  hardware: boolean;
}

export function loadNativeCrc32c(): NativeCrc | null {
  if (process.platform !== 'linux' || process.env.SYSMON_TS_NATIVE === '0' || !existsSync(NATIVE_LIBRARY)) return null;
  try {
    const lib = koffi.load(NATIVE_LIBRARY);
    const crc32c = lib.func('uint32_t sts_crc32c(const uint8_t *buf, uint32_t crc, uint32_t start, uint32_t end)') as NativeCrc32c;
    const hardware = (lib.func('int sts_crc32c_hardware(void)') as () => number)() === 1;
    return { crc32c, hardware };
  } catch {
    return null;
  }
}
