// Reading the journal from disk: the catch-up path of the fan-out (live segments of an open
// Journal) and an offline reader for `replay`, `convert` and `status` (a directory snapshot;
// safe while an agent is appending: it stops at the last complete, checksummed record).
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SysmonEvent } from '../events/event.js';
import { readAllCursors } from './cursor.js';
import { RecordScanner, SEGMENT_HEADER, decodePayload, parseSegmentName } from './format.js';
import type { SegmentInfo } from './journal.js';

/** where a reader finds segments: an open Journal, or a snapshot of a directory */
export interface SegmentSource {
  segments(): readonly SegmentInfo[];
}

export interface BadRecord {
  segment: string;
  offset: number;
  reason: string;
}

/**
 * Sequential reader over the segments of a source. read(from) returns the next events with
 * recordId >= from; gaps (retention, corruption) show up as a jump in recordIds, which the
 * caller counts as loss.
 */
export class DiskReader {
  private seg: SegmentInfo | null = null;
  private fh: FileHandle | null = null;
  private scanner: RecordScanner | null = null;
  /** the recordId the scanner will return next at the earliest */
  private expect = 0;
  readonly bad: BadRecord[] = [];

  constructor(private readonly src: SegmentSource) {}

  async read(from: number, max: number): Promise<SysmonEvent[]> {
    const out: SysmonEvent[] = [];
    if (this.scanner && from < this.expect) await this.close(); // going backwards: reposition
    let reopenTries = 0;
    while (out.length < max) {
      if (!this.scanner) {
        const segs = this.src.segments();
        if (!segs.length) break;
        let pick = segs[0]!;
        for (const s of segs) if (s.baseId <= from) pick = s;
        try {
          await this.openSeg(pick);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT' && reopenTries++ < 100) continue; // deleted by retention meanwhile
          throw e;
        }
      }
      const r = this.scanner!.nextBuffered() ?? (await this.scanner!.next());
      if (r.kind === 'record') {
        this.expect = r.id + 1;
        if (r.id < from) continue;
        out.push(decodePayload(r.id, r.payload));
        from = r.id + 1;
        continue;
      }
      const seg = this.seg!;
      const later = this.src.segments().find((s) => s.baseId > seg.baseId);
      if (r.kind === 'end') {
        if (!seg.sealed) break; // caught up with the active segment
        if (this.scanner!.pos < seg.size) continue; // it grew before it was sealed
        if (!later) break;
      } else {
        // a bad record: in the last segment of a live directory this is a write in progress
        if (!seg.sealed || !later) break;
        this.bad.push({ segment: seg.path, offset: r.offset, reason: r.reason });
      }
      await this.close();
      try {
        await this.openSeg(later!);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return out;
  }

  private async openSeg(seg: SegmentInfo): Promise<void> {
    const fh = await open(seg.path, 'r');
    this.fh = fh;
    this.seg = seg;
    this.scanner = new RecordScanner(fh, SEGMENT_HEADER, () => seg.size, seg.baseId - 1, 256 * 1024);
    this.expect = seg.baseId;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    this.scanner = null;
    this.seg = null;
    await fh?.close();
  }
}

/** the segments of a journal directory as they are now (the last one is treated as live) */
export async function snapshotSegments(dir: string): Promise<SegmentInfo[]> {
  const segs: SegmentInfo[] = [];
  for (const n of (await readdir(dir)).sort()) {
    const id = parseSegmentName(n);
    if (id === null) continue;
    try {
      const st = await stat(join(dir, n));
      segs.push({ baseId: id, path: join(dir, n), size: st.size, lastWriteMs: st.mtimeMs, sealed: true });
    } catch {
      /* deleted meanwhile */
    }
  }
  segs.sort((a, b) => a.baseId - b.baseId);
  if (segs.length) segs[segs.length - 1]!.sealed = false;
  return segs;
}

export interface ReadRange {
  /** first recordId wanted (default: the oldest retained) */
  from?: number;
  /** last recordId wanted, inclusive (default: the last complete record now on disk) */
  to?: number;
  /** events per yielded batch (default 1000) */
  batch?: number;
}

/** Iterates batches of events of a journal directory in recordId order (for replay/convert). */
export async function* readJournalBatches(dir: string, range: ReadRange = {}): AsyncGenerator<SysmonEvent[]> {
  const segs = await snapshotSegments(dir);
  const reader = new DiskReader({ segments: () => segs });
  const to = range.to ?? Number.MAX_SAFE_INTEGER;
  let from = range.from ?? 0;
  try {
    while (from <= to) {
      const evs = await reader.read(from, range.batch ?? 1000);
      if (!evs.length) return;
      const last = evs[evs.length - 1]!.recordId;
      if (last > to) {
        const keep = evs.filter((e) => e.recordId <= to);
        if (keep.length) yield keep;
        return;
      }
      yield evs;
      from = last + 1;
    }
  } finally {
    await reader.close();
  }
}

/** Iterates the events of a journal directory one by one. */
export async function* readJournal(dir: string, range: ReadRange = {}): AsyncGenerator<SysmonEvent> {
  for await (const b of readJournalBatches(dir, range)) yield* b;
}

export interface JournalStatus {
  dir: string;
  bytes: number;
  segments: number;
  firstId: number;
  lastId: number;
  sinks: { sink: string; acked: number; lagRecords: number; savedMs: number }[];
}

/** Offline figures for `sysmon-ts status`: journal size and ids, every sink's cursor and lag. */
export async function journalStatus(dir: string): Promise<JournalStatus> {
  const segs = await snapshotSegments(dir);
  let lastId = 0;
  let firstId = 0;
  for (let i = segs.length - 1; i >= 0 && !lastId; i--) {
    const seg = segs[i]!;
    const fh = await open(seg.path, 'r');
    try {
      const sc = new RecordScanner(fh, SEGMENT_HEADER, () => seg.size, seg.baseId - 1);
      for (;;) {
        const r = await sc.next();
        if (r.kind !== 'record') break;
        lastId = r.id;
      }
    } finally {
      await fh.close();
    }
  }
  if (lastId) firstId = segs[0]!.baseId;
  const cursors = await readAllCursors(dir);
  return {
    dir,
    bytes: segs.reduce((s, x) => s + x.size, 0),
    segments: segs.length,
    firstId,
    lastId,
    sinks: cursors.map((c) => ({ sink: c.sink, acked: c.acked, lagRecords: Math.max(0, lastId - c.acked), savedMs: c.savedMs })),
  };
}
