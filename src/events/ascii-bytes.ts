// Small writers of ASCII into a Buffer, shared by the journal's record writer, the EventData
// writer and the JSONL line writer: a JS loop costs less than Buffer#copy's or #write's checks
// per call for the few bytes each writes.

/** out[pos..] = src; returns the end */
export function putBytes(out: Buffer, pos: number, src: Buffer): number {
  const n = src.length;
  for (let i = 0; i < n; i++) out[pos + i] = src[i]!;
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
