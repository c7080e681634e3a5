// Zero-copy reader of a BPF ring buffer through our own mmap (no libbpf callbacks).
// The BPF side never wakes us (BPF_RB_NO_WAKEUP); we poll producer_pos, a plain memory
// read, on a short timer and drain everything in one batch: no syscall per event, and the
// event loop is never blocked for longer than one batch.
import { koffi, libcFns, MAP_SHARED, PROT_READ, PROT_WRITE } from './ffi.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const RECORD_HEADER = 8;
const PAGE = 4096;

export class RingReader {
  private readonly consumerPtr: unknown;
  private readonly producerPtr: unknown;
  private readonly consumer: BigUint64Array;
  private readonly producer: BigUint64Array;
  private readonly data: Buffer;
  private readonly dataWords: Int32Array;
  private closed = false;

  constructor(fd: number, private readonly size: number) {
    this.consumerPtr = libcFns.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    checkMapped(this.consumerPtr, 'consumer page');
    // producer page + data area mapped twice, so a wrapped record reads as one piece
    const producerLen = PAGE + 2 * size;
    this.producerPtr = libcFns.mmap(null, producerLen, PROT_READ, MAP_SHARED, fd, PAGE);
    checkMapped(this.producerPtr, 'producer/data pages');
    this.consumer = new BigUint64Array(koffi.view(this.consumerPtr, PAGE) as ArrayBuffer, 0, 1);
    const producerArea = koffi.view(this.producerPtr, producerLen) as ArrayBuffer;
    this.producer = new BigUint64Array(producerArea, 0, 1);
    this.data = Buffer.from(producerArea, PAGE, 2 * size);
    this.dataWords = new Int32Array(producerArea, PAGE, (2 * size) / 4);
  }

  /** Bytes written by the kernel and not consumed yet. */
  pending(): number {
    return Number(Atomics.load(this.producer, 0) - Atomics.load(this.consumer, 0));
  }

  /**
   * Hands every committed record to `onRecord` (a view into the ring, valid only during
   * the call), then releases the space. Returns the number of records seen.
   */
  drain(onRecord: (rec: Buffer) => void, maxRecords = 65536): number {
    if (this.closed) return 0;
    let cons = Number(Atomics.load(this.consumer, 0));
    const prod = Number(Atomics.load(this.producer, 0));
    let n = 0;
    try {
      while (cons < prod && n < maxRecords) {
        const at = cons % this.size;
        const word = Atomics.load(this.dataWords, at >>> 2) >>> 0;
        if (word & BUSY) break;
        const len = word & ~(BUSY | DISCARD);
        if (!(word & DISCARD)) {
          onRecord(this.data.subarray(at + RECORD_HEADER, at + RECORD_HEADER + len));
          n++;
        }
        cons += (len + RECORD_HEADER + 7) & ~7;
      }
    } finally {
      Atomics.store(this.consumer, 0, BigInt(cons));
    }
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libcFns.munmap(this.consumerPtr, PAGE);
    libcFns.munmap(this.producerPtr, PAGE + 2 * this.size);
  }
}

function checkMapped(ptr: unknown, what: string): void {
  if (ptr === null || ptr === 0xffffffffffffffffn || (typeof ptr === 'bigint' && ptr === -1n)) {
    throw new Error(`mmap of the ring's ${what} failed (errno ${koffi.errno()})`);
  }
}
