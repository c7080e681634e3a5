// The record-walking loop of the ring (the BPF ring buffer's layout, which the Windows
// driver reproduces): a u64 consumer position, a u64 producer position, a data area of
// `size` bytes holding records with an 8-byte header (u32 length with BUSY = 1 << 31 and
// DISCARD = 1 << 30, u32 page offset), each record 8-byte aligned. Positions grow forever;
// a record sits at `pos % size`.
//
// It knows nothing of where the memory comes from: the Linux mmap of a BPF ring map
// (src/kernel/ring.ts), the Windows driver's section (src/kernel/windows/section.ts) or a
// test-filled ArrayBuffer. No native imports here, so it loads on every platform.
//
// `data` either holds the data area twice in a row (`mirrored`: Linux maps the pages twice,
// so a record that wraps reads as one piece) or once (the Windows section, mapped once): a
// record that wraps is then copied into one buffer before it is handed on.

export const RING_BUSY = 0x80000000;
export const RING_DISCARD = 0x40000000;
export const RING_RECORD_HEADER = 8;

export interface RingViews {
  /** u64 consumer position at index 0 (written by the reader) */
  consumer: BigUint64Array;
  /** u64 producer position at index 0 (written by the producer) */
  producer: BigUint64Array;
  /** the data area: 2 * size bytes when mirrored, size bytes otherwise */
  data: Buffer;
  /** the same bytes as 32-bit words (record headers are read atomically through it) */
  dataWords: Int32Array;
  /** bytes in the data area (a multiple of 8) */
  size: number;
  /** true when `data` maps the data area twice in a row */
  mirrored: boolean;
}

export class RingWalker {
  private readonly consumer: BigUint64Array;
  private readonly producer: BigUint64Array;
  private readonly data: Buffer;
  private readonly dataWords: Int32Array;
  private readonly size: number;
  private readonly mirrored: boolean;

  constructor(views: RingViews) {
    if (views.size <= 0 || views.size % 8 !== 0) throw new Error(`ring data size ${views.size} is not a positive multiple of 8`);
    const want = views.mirrored ? 2 * views.size : views.size;
    if (views.data.length < want || views.dataWords.length * 4 < want) {
      throw new Error(`ring data view of ${views.data.length} bytes, expected ${want}`);
    }
    this.consumer = views.consumer;
    this.producer = views.producer;
    this.data = views.data;
    this.dataWords = views.dataWords;
    this.size = views.size;
    this.mirrored = views.mirrored;
  }

  /** Bytes written by the producer and not consumed yet. */
  pending(): number {
    return Number(Atomics.load(this.producer, 0) - Atomics.load(this.consumer, 0));
  }

  /**
   * Hands every committed record to `onRecord` (a view into the ring, valid only during
   * the call), then releases the space. Stops at the first record still being written
   * (BUSY); skips discarded ones. Returns the number of records handed on.
   */
  drain(onRecord: (rec: Buffer) => void, maxRecords = 65536): number {
    let cons = Number(Atomics.load(this.consumer, 0));
    const prod = Number(Atomics.load(this.producer, 0));
    let n = 0;
    try {
      while (cons < prod && n < maxRecords) {
        const at = cons % this.size;
        const word = Atomics.load(this.dataWords, at >>> 2) >>> 0;
        if (word & RING_BUSY) break;
        const len = word & ~(RING_BUSY | RING_DISCARD);
        if (!(word & RING_DISCARD)) {
          const start = at + RING_RECORD_HEADER;
          const end = start + len;
          if (end <= this.size || this.mirrored) onRecord(this.data.subarray(start, end));
          else onRecord(this.joinWrapped(start, end));
          n++;
        }
        cons += (len + RING_RECORD_HEADER + 7) & ~7;
      }
    } finally {
      Atomics.store(this.consumer, 0, BigInt(cons));
    }
    return n;
  }

  /** A record whose body runs past the end of a single-mapped data area, in one piece. */
  private joinWrapped(start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(end - start);
    // the header never wraps (8-byte aligned in a multiple-of-8 area); the body may start
    // at the very end (start === size) and then lies wholly at the beginning
    const first = Math.max(0, this.size - start);
    if (first > 0) this.data.copy(out, 0, start, this.size);
    const from = start >= this.size ? start - this.size : 0;
    this.data.copy(out, first, from, from + (end - start - first));
    return out;
  }
}
