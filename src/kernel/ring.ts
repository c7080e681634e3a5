// Zero-copy reader of a BPF ring buffer through our own mmap (no libbpf callbacks; a record that
// wraps past the data area's end is the one copy).
// The BPF side never wakes us (BPF_RB_NO_WAKEUP); we poll producer_pos, a plain memory
// read, on a short timer and drain everything in one batch: no syscall per event, and the
// event loop is never blocked for longer than one batch. The walk itself is RingWalker's
// (src/kernel/ring-walker.ts), shared with the Windows driver's section and the tests.
import { koffi, libcFns, MAP_SHARED, PROT_READ, PROT_WRITE } from './ffi.js';
import { RingWalker } from './ring-walker.js';

export { RingWalker, type RingViews } from './ring-walker.js';

const PAGE = 4096;

export class RingReader {
  private readonly consumerPtr: unknown;
  private readonly producerPtr: unknown;
  private readonly walker: RingWalker;
  private closed = false;

  constructor(
    fd: number,
    private readonly size: number,
  ) {
    this.consumerPtr = libcFns.mmap(null, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    checkMapped(this.consumerPtr, 'consumer page');
    // producer page + the data area once. The kernel would map the data pages twice in a row
    // (a wrapped record then reads as one piece), but every page mapped twice counts twice in
    // RSS: a 16 MiB ring showed as 32 MB once the producer had wrapped. Mapped once, the rare
    // record that wraps is copied into one buffer (RingWalker, mirrored: false).
    const producerLen = PAGE + size;
    this.producerPtr = libcFns.mmap(null, producerLen, PROT_READ, MAP_SHARED, fd, PAGE);
    checkMapped(this.producerPtr, 'producer/data pages');
    const producerArea = koffi.view(this.producerPtr, producerLen) as ArrayBuffer;
    this.walker = new RingWalker({
      consumer: new BigUint64Array(koffi.view(this.consumerPtr, PAGE) as ArrayBuffer, 0, 1),
      producer: new BigUint64Array(producerArea, 0, 1),
      data: Buffer.from(producerArea, PAGE, size),
      dataWords: new Int32Array(producerArea, PAGE, size / 4),
      size,
      mirrored: false,
    });
  }

  /** Bytes written by the kernel and not consumed yet. */
  pending(): number {
    return this.walker.pending();
  }

  /**
   * Hands every committed record to `onRecord` (a view into the ring, valid only during
   * the call), then releases the space. Returns the number of records seen.
   */
  drain(onRecord: (rec: Buffer) => void, maxRecords = 65536): number {
    if (this.closed) return 0;
    return this.walker.drain(onRecord, maxRecords);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    libcFns.munmap(this.consumerPtr, PAGE);
    libcFns.munmap(this.producerPtr, PAGE + this.size);
  }
}

function checkMapped(ptr: unknown, what: string): void {
  if (ptr === null || ptr === 0xffffffffffffffffn || (typeof ptr === 'bigint' && ptr === -1n)) {
    throw new Error(`mmap of the ring's ${what} failed (errno ${koffi.errno()})`);
  }
}
