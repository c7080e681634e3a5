// The hashes of exec'd images by the exec record's raw inode bytes (exe_ino, exe_size,
// exe_mtime_ns, exe_dev: 28 contiguous bytes of events.h's exec_record). An exec storm runs one
// file thousands of times: a hit here is seven integer compares, where HashService.lookup builds
// a string key from three BigInts and refreshes its LRU Map (~0.9 us per exec in a CPU profile
// of a 10,000-exec storm, plus Map churn that V8 promoted). Direct-mapped: a slot holds the last
// image that hashed to it; a miss goes to HashService as before.
import { STRUCTS } from '../../kernel/generated/events-h.js';
import { u32 } from '../../kernel/records/le.js';

const F = STRUCTS.exec_record.fields;
/** where the key starts, and its length in u32 words */
const KEY_AT = F.exe_ino[0];
const KEY_WORDS = (F.exe_dev[0] + F.exe_dev[1] - KEY_AT) / 4;
if (F.exe_size[0] !== F.exe_ino[0] + 8 || F.exe_mtime_ns[0] !== F.exe_size[0] + 8 || F.exe_dev[0] !== F.exe_mtime_ns[0] + 8 || KEY_WORDS !== 7) {
  throw new Error('exec_record: exe_ino, exe_size, exe_mtime_ns, exe_dev are no longer contiguous (image-hash-memo.ts)');
}
const SLOTS = 256;

export class ImageHashMemo {
  private readonly keys = new Uint32Array(SLOTS * KEY_WORDS);
  private readonly values: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private generation = -1;

  /** The hashes of the image `rec` (an exec record) ran, if memoized under this cache generation. */
  get(rec: Buffer, generation: number): string | undefined {
    if (generation !== this.generation) {
      this.values.fill(undefined);
      this.generation = generation;
      return undefined;
    }
    const slot = this.slotOf(rec);
    const v = this.values[slot];
    if (v === undefined) return undefined;
    const k = this.keys;
    const base = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) if (k[base + i] !== u32(rec, KEY_AT + 4 * i)) return undefined;
    return v;
  }

  set(rec: Buffer, generation: number, hashes: string): void {
    if (generation !== this.generation) return;
    const slot = this.slotOf(rec);
    const base = slot * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) this.keys[base + i] = u32(rec, KEY_AT + 4 * i);
    this.values[slot] = hashes;
  }

  private slotOf(rec: Buffer): number {
    // low words of the inode number and the device
    return (u32(rec, KEY_AT) ^ u32(rec, KEY_AT + 24)) & (SLOTS - 1);
  }
}
