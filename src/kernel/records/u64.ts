// 64-bit record fields as one BigInt each. Buffer#readBigUInt64LE builds its result from two
// 32-bit halves (BigInt(lo) + (BigInt(hi) << 32n): four BigInts per field), ~430 bytes of heap
// per file record in a replay's allocation profile. Records in the ring and in recordings sit
// on 8-byte boundaries, and events.h lays out u64s naturally aligned, so the field is read
// through a BigUint64Array view of the record's ArrayBuffer: one BigInt. A field that is not
// 8-aligned in memory (a copied record in a pooled Buffer) takes Buffer's own read.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let viewed: ArrayBufferLike | null = null;
let unsigned: BigUint64Array<ArrayBufferLike> = new BigUint64Array(0);
let signed: BigInt64Array<ArrayBufferLike> = new BigInt64Array(0);

function view(ab: ArrayBufferLike): void {
  viewed = ab;
  const words = Math.floor(ab.byteLength / 8);
  unsigned = new BigUint64Array(ab, 0, words);
  signed = new BigInt64Array(ab, 0, words);
}

/**
 * The record whose ArrayBuffer was checked last: its further fields skip the check. `b.buffer`
 * is a call into V8's runtime (Builtin_TypedArrayPrototypeBuffer), not an inlined load: ~4% of
 * an exec storm's replay with sysmon-modular when every u64 read made it.
 */
let checked: Buffer | null = null;

/** the index of b[off..off+8) in the 64-bit views of b's ArrayBuffer, or -1 when it is not 8-aligned there (or out of b) */
function wordIndex(b: Buffer, off: number): number {
  const at = b.byteOffset + off;
  if (!LITTLE_ENDIAN || (at & 7) !== 0 || off < 0 || off + 8 > b.length) return -1;
  if (b !== checked) {
    if (b.buffer !== viewed) view(b.buffer);
    checked = b;
  }
  return at / 8;
}

/** b.readBigUInt64LE(off), allocating one BigInt */
export function u64(b: Buffer, off: number): bigint {
  const i = wordIndex(b, off);
  return i >= 0 ? unsigned[i]! : b.readBigUInt64LE(off);
}

/** b.readBigInt64LE(off), allocating one BigInt */
export function i64(b: Buffer, off: number): bigint {
  const i = wordIndex(b, off);
  return i >= 0 ? signed[i]! : b.readBigInt64LE(off);
}
