// Small writers of ASCII into a Buffer, shared by the journal's record writer, the EventData
// writer and the JSONL line writer: for a few bytes a JS loop costs less than Buffer#copy's or
// #write's checks per call; from SET_FROM bytes TypedArray#set does.

/** from this length TypedArray#set (a builtin copy, ~19 ns whatever the length up to a few hundred bytes here) beats the loop (~1.5 ns a byte) */
const SET_FROM = 16;

/** out[pos..] = src; returns the end */
export function putBytes(out: Buffer, pos: number, src: Buffer): number {
  const n = src.length;
  if (n >= SET_FROM) out.set(src, pos);
  else for (let i = 0; i < n; i++) out[pos + i] = src[i]!;
  return pos + n;
}

/** the decimal digits of a non-negative integer below 2^53 at out[pos..], zero-padded to `width`; returns the end */
export function putUint(out: Buffer, pos: number, n: number, width = 1): number {
  let len = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) len++;
  if (len < width) len = width;
  let p = pos + len;
  for (let i = 0; i < len; i++) {
    const q = Math.floor(n / 10);
    out[--p] = 48 + (n - q * 10);
    n = q;
  }
  return pos + len;
}
