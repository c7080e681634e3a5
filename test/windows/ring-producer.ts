// The Windows driver's producer (driver/windows/ring.c RingOutput), step for step, over an
// ArrayBuffer laid out as the driver's section: consumer u64 at 0, win_ring_producer at
// 4096, data at 65536. reserve() writes the header with BUSY and publishes the producer
// position; write() copies the record after the header, split where it passes the end of
// the data area; commit() clears BUSY (or sets DISCARD). No room: dropped is counted.
import { WINDOWS_LAYOUT } from '../../src/families/windows/records.js';
import { WIN_RING } from '../../src/kernel/windows/section.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const PR = WINDOWS_LAYOUT.win_ring_producer;

export class SectionProducer {
  readonly section: ArrayBuffer;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly consumer: BigUint64Array;
  private readonly producerPage: DataView;
  /** the driver's own copy of the producer position (the shared one is not trusted) */
  private producerPos = 0n;
  /** records whose body was split at the end of the data area */
  wrapped = 0;

  constructor(readonly size: number) {
    if (size & (size - 1) || size < 64) throw new Error('the driver uses a power-of-two data area');
    this.section = new ArrayBuffer(WIN_RING.headerBytes + size);
    this.bytes = new Uint8Array(this.section, WIN_RING.headerBytes, size);
    this.words = new Int32Array(this.section, WIN_RING.headerBytes, size / 4);
    this.consumer = new BigUint64Array(this.section, WIN_RING.consumerOff, 1);
    this.producerPage = new DataView(this.section, WIN_RING.producerOff, 32);
    this.producerPage.setBigUint64(PR.data_size[0], BigInt(size), true);
    this.producerPage.setUint32(PR.abi_version[0], WIN_RING.abiVersion, true);
    this.producerPage.setUint32(PR.magic[0], WIN_RING.magic, true);
  }

  get dropped(): bigint {
    return this.producerPage.getBigUint64(PR.dropped[0], true);
  }

  private drop(): null {
    this.producerPage.setBigUint64(PR.dropped[0], this.dropped + 1n, true);
    return null;
  }

  /** Returns the record's position, or null (dropped). */
  reserve(len: number): bigint | null {
    const size = BigInt(this.size);
    if (len === 0 || len + 8 > this.size || len & (BUSY | DISCARD)) return this.drop();
    const total = BigInt((len + 8 + 7) & ~7);
    const cons = Atomics.load(this.consumer, 0);
    const prod = this.producerPos;
    if (cons > prod || prod - cons > size || total > size - (prod - cons)) return this.drop();
    const at = Number(prod & (size - 1n));
    this.words[(at >>> 2) + 1] = 0;
    Atomics.store(this.words, at >>> 2, len | BUSY | 0);
    this.producerPos = prod + total;
    this.producerPage.setBigUint64(PR.producer_pos[0], this.producerPos, true);
    return prod;
  }

  write(pos: bigint, record: Uint8Array): void {
    const off = Number((pos + 8n) & BigInt(this.size - 1));
    const first = this.size - off;
    if (first >= record.length) this.bytes.set(record, off);
    else {
      this.bytes.set(record.subarray(0, first), off);
      this.bytes.set(record.subarray(first), 0);
      this.wrapped++;
    }
  }

  commit(pos: bigint, len: number, discard = false): void {
    const at = Number(pos & BigInt(this.size - 1));
    Atomics.store(this.words, at >>> 2, len | (discard ? DISCARD : 0) | 0);
  }

  /** RingOutput: reserve, write, commit. */
  output(record: Uint8Array): boolean {
    const pos = this.reserve(record.length);
    if (pos === null) return false;
    this.write(pos, record);
    this.commit(pos, record.length);
    return true;
  }

  /** What a misbehaving service could do to its (writable) consumer position. */
  setConsumer(pos: bigint): void {
    Atomics.store(this.consumer, 0, pos);
  }
}
