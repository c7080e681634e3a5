// Kernel strings are bytes, not UTF-8 promises. Valid UTF-8 decodes as usual; any byte that
// is not part of a valid sequence becomes a lone surrogate U+DC80..U+DCFF ("surrogateescape"),
// so the original bytes can be recovered exactly and JSON shows them as "\udcXX".
const strict = new TextDecoder('utf-8', { fatal: true });

export function decodeBytes(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++)
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return latin1(bytes);
  try {
    return strict.decode(bytes);
  } catch {
    return decodeWithEscapes(bytes);
  }
}

/**
 * decodeBytes(buf.subarray(start, end)) without the Buffer view when the bytes are ASCII (paths
 * and command lines nearly always are): a record's strings are decoded straight from it.
 */
export function decodeRange(buf: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return decodeBytes(buf.subarray(start, end));
  return buf.toString('latin1', start, end);
}

function latin1(bytes: Uint8Array): string {
  // ring and record views are Buffers already: no new Buffer object per string
  if (Buffer.isBuffer(bytes)) return bytes.toString('latin1');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  const need = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? (b <= 0xef ? 3 : 0) : b >= 0xc2 && b <= 0xdf ? 2 : 0;
  if (need === 0 || i + need > bytes.length) return 0;
  for (let k = 1; k < need; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0;
  const cp =
    need === 2
      ? ((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f)
      : need === 3
        ? ((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f)
        : ((b & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
  // overlong forms, encoded surrogates and values past U+10FFFF are not valid UTF-8
  if ((need === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (need === 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  return need;
}

function decodeWithEscapes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      out += String.fromCharCode(0xdc00 + b);
      i++;
      continue;
    }
    out += strict.decode(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** The original bytes of a string produced by decodeBytes. */
export function encodeBytes(text: string): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && text.charCodeAt(i - 1) >= 0xd800 && text.charCodeAt(i - 1) <= 0xdbff)) {
      parts.push(Buffer.from(text.slice(start, i), 'utf8'), Buffer.of(c - 0xdc00));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(text.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** Longest prefix of s whose UTF-8 encoding fits in maxBytes, never splitting a character. */
export function utf8Prefix(s: string, maxBytes: number): string {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let units = 1;
    let b: number;
    if (c < 0x80) b = 1;
    else if (c < 0x800) b = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      b = 4;
      units = 2;
    } else b = 3;
    if (bytes + b > maxBytes) break;
    bytes += b;
    i += units;
  }
  return s.slice(0, i);
}
