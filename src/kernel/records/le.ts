// Little-endian reads of record fields whose bounds the decoder has already checked (need(), the
// header check, a str_ref's check). Buffer#readUInt16LE / #readUInt32LE validate the offset
// through two more calls each: ~6-10 ns a read here against ~1.5 inline, and a record is 10-20
// reads. Out of bounds these read undefined as 0 instead of throwing, so they are only for
// offsets inside a checked length.

export function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

export function u32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

export function i32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}
