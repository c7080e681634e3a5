// Durable per-sink cursors: "<journal>/cursors/<sink>.cursor" holds the last recordId the sink
// acknowledged. Saved atomically (write tmp, fsync, rename); saves are coalesced so a fast sink
// does not wait on the disk: only the latest value is written once the previous save finished.
import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeReplace } from '../fs/safe-file.js';

export const CURSOR_DIR = 'cursors';

export function cursorFileName(sink: string): string {
  return `${sink.replace(/[^A-Za-z0-9._-]/g, '_')}.cursor`;
}

export interface CursorState {
  sink: string;
  acked: number;
  savedMs: number;
}

export async function readCursor(path: string): Promise<CursorState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const o = JSON.parse(text) as CursorState;
    if (typeof o.acked === 'number' && Number.isSafeInteger(o.acked) && o.acked >= 0) return o;
  } catch { /* fall through */ }
  return null; // unreadable: treated as absent (the caller decides where to start)
}

/** every cursor in a journal directory */
export async function readAllCursors(journalDir: string): Promise<CursorState[]> {
  const dir = join(journalDir, CURSOR_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: CursorState[] = [];
  for (const n of names.filter((x) => x.endsWith('.cursor')).sort()) {
    const c = await readCursor(join(dir, n));
    if (c) out.push(c);
  }
  return out;
}

export class CursorFile {
  readonly path: string;
  private saving: Promise<void> | null = null;
  private pending: number | null = null;
  saved = -1;
  lastError: Error | null = null;

  /** minimum time between two saves: a fast sink acks many batches per save */
  constructor(journalDir: string, readonly sink: string, private readonly fsync = true, private readonly minIntervalMs = 50) {
    this.path = join(journalDir, CURSOR_DIR, cursorFileName(sink));
  }

  async load(): Promise<number | null> {
    const dir = join(this.path, '..');
    await mkdir(dir, { recursive: true });
    // temporaries of saves a crash interrupted (".<name>.tmp-<pid>-<random>")
    const stale = `.${cursorFileName(this.sink)}.tmp-`;
    for (const n of await readdir(dir)) if (n.startsWith(stale)) await unlink(join(dir, n)).catch(() => undefined);
    const c = await readCursor(this.path);
    if (c) this.saved = c.acked;
    return c ? c.acked : null;
  }

  /** schedule a save of `acked`; returns at once */
  save(acked: number): void {
    this.pending = acked;
    if (!this.saving) this.saving = this.loop();
  }

  private hurry = false;
  private wake: (() => void) | null = null;

  /** wait until every scheduled value is on disk */
  async flush(): Promise<void> {
    this.hurry = true;
    this.wake?.();
    while (this.saving) await this.saving;
    this.hurry = false;
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending !== null) {
        const v = this.pending;
        this.pending = null;
        try {
          await this.writeNow(v);
          this.lastError = null;
        } catch (e) {
          this.lastError = e as Error; // a lost cursor save only means re-delivery after restart
        }
        if (this.pending !== null && !this.hurry && this.minIntervalMs > 0) {
          await new Promise<void>((r) => { this.wake = r; setTimeout(r, this.minIntervalMs); });
          this.wake = null;
        }
      }
    } finally {
      this.saving = null;
    }
  }

  async writeNow(acked: number): Promise<void> {
    const body = JSON.stringify({ sink: this.sink, acked, savedMs: Date.now() } satisfies CursorState);
    // O_EXCL temporary + rename (src/fs/safe-file.ts): never writes through a planted link
    await writeReplace(this.path, body, 0o640, 'cursor', { fsync: this.fsync });
    if (acked > this.saved) this.saved = acked;
  }
}
