// EVTX reader: file header, chunks and records (the Binary XML is ./binxml.ts, the mapping to
// Sysmon events ./record-event.ts). Streams chunk by chunk and never stops at damage: every
// whole record is parsed on its own, what cannot be read is skipped and reported (file, chunk,
// record, reason), bad checksums are warnings, a truncated last chunk gives its whole records.
// Behaviour in detail: docs/evtx.md.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CHUNK_HEADER_SIZE, CHUNK_MAGIC, CHUNK_SIZE, FILE_HEADER_SIZE, FILE_MAGIC, RECORD_MAGIC, chunkHeaderCrc, crc, filetimeToNs } from './format.js';
import { ChunkParser, type EvtxRecord, type XmlNode } from './binxml.js';

export { renderNode, valueText, type EvtxRecord, type Value, type XmlNode } from './binxml.js';
export {
  SYSMON_PROVIDERS,
  classifyRecord,
  eventRecordIdOf,
  recordShape,
  recordToEvent,
  type ParsedEvent,
  type RecordVerdict,
} from './record-event.js';

export interface ChunkInfo {
  index: number;
  headerCrcOk: boolean;
  dataCrcOk: boolean;
  records: number;
}

export interface FileInfo {
  chunkCount: number;
  nextRecordId: bigint;
  flags: number;
  headerCrcOk: boolean;
}

export function parseFileHeader(h: Buffer): FileInfo {
  if (h.length < 128 || !h.subarray(0, 8).equals(FILE_MAGIC)) throw new Error('not an EVTX file (no ElfFile magic)');
  return {
    chunkCount: h.readUInt16LE(42),
    nextRecordId: h.readBigUInt64LE(24),
    flags: h.readUInt32LE(120),
    headerCrcOk: h.readUInt32LE(124) === crc(h, 0, 120),
  };
}

/**
 * Something the reader could not read ('damage': bytes or records were skipped), or a warning
 * about what it did read (bad checksum, truncated chunk). `lost` counts the records known to be
 * skipped: a damaged record 1; damaged bytes in a chunk whose header is intact 0, and the
 * chunk's closing "N of the M records ... not found" report counts them; elsewhere 1.
 */
export interface ReadIssue {
  readonly kind: 'warning' | 'damage';
  readonly file: string;
  /** chunk index; -1 for the file header */
  readonly chunk: number;
  /** the record's id from its header, when that much was readable */
  readonly record?: bigint;
  /** file offset of what is reported */
  readonly offset: number;
  readonly lost: number;
  readonly reason: string;
}

export function issueText(i: ReadIssue): string {
  const where = i.chunk < 0 ? 'file header' : `chunk ${i.chunk}${i.record !== undefined ? `, record ${i.record}` : ''}`;
  return `${i.file}: ${where} (offset 0x${i.offset.toString(16)}): ${i.reason}`;
}

export interface ReadOptions {
  /** per-chunk checks, one entry per chunk read */
  chunks?: ChunkInfo[];
  /** told about every damaged part and warning; default: ignore */
  onIssue?: (issue: ReadIssue) => void;
}

interface ChunkContext {
  file: string;
  /** file offset of the chunk */
  offset: number;
  /** bytes of the chunk present in the file (less than CHUNK_SIZE for a truncated last chunk) */
  available: number;
  onIssue?: (issue: ReadIssue) => void;
  /** records this chunk should hold when its own header is unreadable, from its neighbours' headers */
  expected?: number;
}

/** Smallest record: magic, size, id, time, an EOF token and the size copy. */
const MIN_RECORD = 28;

function isZero(c: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (c[i] !== 0) return false;
  return true;
}

/** A record starts at p: magic, a size that fits `end`, and the size copy at its end. */
function recordAt(c: Buffer, p: number, end: number): number {
  if (p + MIN_RECORD > end || c.readUInt32LE(p) !== RECORD_MAGIC) return 0;
  const size = c.readUInt32LE(p + 4);
  return size >= MIN_RECORD && p + size <= end && c.readUInt32LE(p + size - 4) === size ? size : 0;
}

/** The next position after `from` where a whole record starts, or -1. */
function nextRecord(c: Buffer, from: number, end: number): number {
  for (let p = c.indexOf(RECORD_MAGIC_BYTES, from); p >= 0 && p + MIN_RECORD <= end; p = c.indexOf(RECORD_MAGIC_BYTES, p + 1)) {
    if (recordAt(c, p, end) > 0) return p;
  }
  return -1;
}

const RECORD_MAGIC_BYTES = Buffer.from([0x2a, 0x2a, 0x00, 0x00]);

/** The first whole record (within `end`) that starts in [from, to), or -1. */
function recordStartIn(c: Buffer, from: number, to: number, end: number): number {
  for (let q = c.indexOf(RECORD_MAGIC_BYTES, from); q >= 0 && q < to; q = c.indexOf(RECORD_MAGIC_BYTES, q + 1)) {
    if (recordAt(c, q, end) > 0) return q;
  }
  return -1;
}

/**
 * Records of one chunk buffer. Every whole record (magic, size, size copy) is parsed on its
 * own: a damaged one is reported and skipped, and bytes that are no record are skipped up to
 * the next whole record. Bad checksums are reported as warnings; the records are still read.
 */
export function* chunkRecords(c: Buffer, index: number, info?: ChunkInfo, ctx?: ChunkContext): Generator<EvtxRecord> {
  const avail = Math.min(ctx?.available ?? CHUNK_SIZE, CHUNK_SIZE);
  const base = ctx?.offset ?? 0;
  const report = (kind: ReadIssue['kind'], at: number, reason: string, lost = 0, record?: bigint) =>
    ctx?.onIssue?.({ kind, file: ctx.file, chunk: index, record, offset: base + at, lost, reason });
  const magicOk = avail >= 8 && c.subarray(0, 8).equals(CHUNK_MAGIC);
  const headerOk = magicOk && avail >= CHUNK_HEADER_SIZE && c.readUInt32LE(124) === chunkHeaderCrc(c);
  const free = c.readUInt32LE(48);
  const dataOk = headerOk && free >= CHUNK_HEADER_SIZE && free <= avail && c.readUInt32LE(52) === crc(c, CHUNK_HEADER_SIZE, free);
  if (info) {
    info.headerCrcOk = headerOk;
    info.dataCrcOk = dataOk;
  }
  if (avail < CHUNK_SIZE) report('warning', 0, `chunk cut at ${avail} of ${CHUNK_SIZE} bytes (truncated file): its whole records are read`);
  if (!magicOk) {
    if (isZero(c, 0, avail)) {
      report(
        'damage',
        0,
        `chunk is all zeros: ${ctx?.expected !== undefined ? `its ${ctx.expected} records (from the neighbouring chunks' headers) ` : ''}skipped`,
        ctx?.expected ?? 1,
      );
      return;
    }
    report('warning', 0, 'no chunk magic (ElfChnk): scanning it for records');
  } else if (!headerOk && avail >= CHUNK_HEADER_SIZE) report('warning', 0, 'chunk header checksum mismatch: scanning it for records');
  else if (headerOk && !dataOk && avail === CHUNK_SIZE)
    report('warning', 0, 'event records checksum mismatch (data damaged, or records added after the header was written)');
  // what the (intact) header promises: the records numbered first..last, ending at `free`
  const first = c.readBigUInt64LE(8);
  const last = c.readBigUInt64LE(16);
  const expected =
    headerOk && last >= first && last - first < BigInt(Math.floor(CHUNK_SIZE / MIN_RECORD)) ? Number(last - first) + 1 : headerOk ? undefined : ctx?.expected;
  const parser = new ChunkParser(c);
  let found = 0;
  let damaged = 0;
  let p = CHUNK_HEADER_SIZE;
  while (p + MIN_RECORD <= avail) {
    const size = recordAt(c, p, avail);
    if (size > 0) {
      const recordId = c.readBigUInt64LE(p + 8);
      let rec: EvtxRecord | null = null;
      let bodyEnd = p + 24;
      try {
        parser.beginRecord(p + size - 4);
        const [root, q] = parser.fragment(p + 24, p + size - 4, false);
        bodyEnd = q;
        rec = { recordId, timeNs: filetimeToNs(c.readBigUInt64LE(p + 16)), root: root as XmlNode[], chunk: index, offset: base + p };
      } catch (e) {
        damaged++;
        report('damage', p, `damaged record skipped: ${(e as Error).message}`, 1, recordId);
      }
      if (rec) {
        found++;
        if (info) info.records++;
        yield rec;
      }
      // A damaged size can still pass the size-copy check when it lands on the next record's
      // own size field: a whole record starting inside this one's claimed span means the span
      // is wrong, and reading goes on from that record.
      const inner = recordStartIn(c, bodyEnd, p + size, avail);
      if (inner > 0) {
        report('warning', p, `record size ${size} overlaps the record at offset 0x${(base + inner).toString(16)}: size damaged`, 0, recordId);
        p = inner;
      } else p += size;
      continue;
    }
    // a record running past the end of a truncated chunk is the cut one, unless whole records
    // follow (then its size is what is damaged)
    if (c.readUInt32LE(p) === RECORD_MAGIC && p + c.readUInt32LE(p + 4) > avail && avail < CHUNK_SIZE && nextRecord(c, p + 1, avail) < 0) {
      damaged++;
      report('damage', p, 'record cut by the end of the file: skipped', 1, p + 16 <= avail ? c.readBigUInt64LE(p + 8) : undefined);
      break;
    }
    // no whole record here: the end of the records (zeros), or damage to skip
    if (isZero(c, p, avail)) break;
    if (headerOk && dataOk && p >= free) break; // bytes past an intact chunk's free space are not records
    const next = nextRecord(c, p + 1, avail);
    report('damage', p, `${(next < 0 ? avail : next) - p} bytes that are no whole record skipped`, expected === undefined ? 1 : 0);
    if (next < 0) break;
    p = next;
  }
  if (expected !== undefined && found + damaged < expected) {
    report(
      'damage',
      0,
      `${expected - found - damaged} of the ${expected} records ${headerOk ? 'the chunk header lists' : "expected from the neighbouring chunks' headers"} were not found: skipped`,
      expected - found - damaged,
    );
  }
}

/** Record numbers first..last of each chunk whose header is intact (magic and checksum). */
function chunkSpans(fd: number, n: number): ({ first: bigint; last: bigint } | undefined)[] {
  const h = Buffer.alloc(CHUNK_HEADER_SIZE);
  const out: ({ first: bigint; last: bigint } | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const got = readSync(fd, h, 0, CHUNK_HEADER_SIZE, FILE_HEADER_SIZE + i * CHUNK_SIZE);
    const ok = got === CHUNK_HEADER_SIZE && h.subarray(0, 8).equals(CHUNK_MAGIC) && h.readUInt32LE(124) === chunkHeaderCrc(h);
    out.push(ok ? { first: h.readBigUInt64LE(8), last: h.readBigUInt64LE(16) } : undefined);
  }
  return out;
}

/**
 * Every record of an EVTX file that can be read, chunk by chunk; what cannot be read is
 * skipped and told to `onIssue`. A file cut mid-chunk gives the whole records of its last
 * chunk. Only a file that is not EVTX at all (no ElfFile magic) throws.
 * (`chunks` may be passed alone, as before.)
 */
export function* readEvtxRecords(path: string, opts: ReadOptions | ChunkInfo[] = {}): Generator<EvtxRecord> {
  const { chunks, onIssue } = Array.isArray(opts) ? { chunks: opts, onIssue: undefined } : opts;
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(FILE_HEADER_SIZE);
    const got = readSync(fd, h, 0, FILE_HEADER_SIZE, 0);
    if (got < 8 || !h.subarray(0, 8).equals(FILE_MAGIC)) throw new Error(`${path}: not an EVTX file (no ElfFile magic)`);
    const issue = (kind: ReadIssue['kind'], offset: number, reason: string) => onIssue?.({ kind, file: path, chunk: -1, offset, lost: 0, reason });
    if (got < FILE_HEADER_SIZE) {
      issue('damage', got, `file cut inside its header (${got} bytes): no chunks, skipped`);
      return;
    }
    const header = parseFileHeader(h);
    if (!header.headerCrcOk) issue('warning', 0, 'file header checksum mismatch');
    const size = fstatSync(fd).size;
    const n = Math.ceil((size - FILE_HEADER_SIZE) / CHUNK_SIZE);
    const spans = chunkSpans(fd, n);
    const c = Buffer.alloc(CHUNK_SIZE);
    for (let i = 0; i < n; i++) {
      const offset = FILE_HEADER_SIZE + i * CHUNK_SIZE;
      const available = readSync(fd, c, 0, CHUNK_SIZE, offset);
      c.fill(0, available);
      // Space past the header's chunk count that holds no chunk is not damage: Windows
      // preallocates log files (the reference sample has 8 such chunks of filler) and updates
      // the count lazily, so a chunk there with its magic, or with whole records, is still read.
      if (i >= header.chunkCount && !c.subarray(0, 8).equals(CHUNK_MAGIC) && nextRecord(c, CHUNK_HEADER_SIZE, available) < 0) continue;
      const info: ChunkInfo = { index: i, headerCrcOk: false, dataCrcOk: false, records: 0 };
      if (chunks) chunks.push(info);
      // a chunk whose header is lost between two intact ones held the records numbered between them
      const prev = spans[i - 1];
      const next = spans[i + 1];
      const expected =
        !spans[i] && prev && next && next.first > prev.last && next.first - prev.last - 1n < 65536n ? Number(next.first - prev.last - 1n) : undefined;
      yield* chunkRecords(c, i, info, { file: path, offset, available, onIssue, expected });
    }
  } finally {
    closeSync(fd);
  }
}
