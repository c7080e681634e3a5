// CRC32C (Castagnoli, reflected polynomial 0x82F63B78). Chainable:
// crc32c(b, crc32c(a)) === crc32c(a ++ b). Node 20 has no zlib.crc32 (and that one is
// CRC32/IEEE anyway), so ranges of NATIVE_MIN bytes and more go to driver/native's SSE4.2
// version when it is built (crc32c-native.ts), the rest to the slice-by-8 below: a koffi call
// costs ~80 ns, more than JavaScript needs for a few bytes.
import { loadNativeCrc32c } from './crc32c-native.js';

const POLY = 0x82f63b78;
const T = new Int32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = T[(t - 1) * 256 + i]!;
    T[t * 256 + i] = (prev >>> 8) ^ T[prev & 0xff]!;
  }
}

const loaded = loadNativeCrc32c();
const native = loaded?.crc32c ?? null;
/** ranges shorter than this stay in JavaScript (measured crossover: ~120 bytes) */
const NATIVE_MIN = 128;

/** Which implementation crc32c uses for long ranges: 'sse4.2', 'native' (the library's tables) or 'js'. */
export const CRC32C_IMPLEMENTATION: 'sse4.2' | 'native' | 'js' = loaded === null ? 'js' : loaded.hardware ? 'sse4.2' : 'native';

/** CRC32C of buf[start, end), continuing from `crc` (the result of a previous call, 0 to start). */
export function crc32c(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  if (native !== null && end - start >= NATIVE_MIN) {
    // native code reads memory: a range outside buf must never reach it
    if (start < 0 || end > buf.length) throw new RangeError(`crc32c range [${start}, ${end}) outside ${buf.length} bytes`);
    return native(buf, crc >>> 0, start, end);
  }
  return crc32cJs(buf, crc, start, end);
}

/** The JavaScript slice-by-8 (what crc32c runs without the native library). */
export function crc32cJs(buf: Uint8Array, crc = 0, start = 0, end = buf.length): number {
  let c = ~crc;
  let i = start;
  const t = T;
  while (end - i >= 8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) c = t[(c ^ buf[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Bit-at-a-time reference implementation, for tests only. */
export function crc32cSlow(buf: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  }
  return ~c >>> 0;
}
