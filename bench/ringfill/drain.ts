// Our reader (src/kernel/ring.ts RingReader) draining a full ring filled by ringfill.bpf.o,
// the same way consumer.c does it with libbpf's ring_buffer. Usage: drain.ts OBJ ROUNDS
import { bpf, koffi } from '../../src/kernel/ffi.js';
import { RingReader } from '../../src/kernel/ring.js';

const [obj, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 20);
const libbpf = koffi.load('libbpf.so.1');
const progFd = libbpf.func('int bpf_program__fd(void *prog)');
const findProg = libbpf.func('void *bpf_object__find_program_by_name(void *obj, const char *name)');
const testRun = libbpf.func('int bpf_prog_test_run_opts(int fd, void *opts)');

const o = bpf.openFile(obj!, null);
if (!o || bpf.load(o) !== 0) throw new Error('load failed');
const fd = progFd(findProg(o, 'fill')) as number;
const ringFd = bpf.mapFd(bpf.findMap(o, 'events')) as number;
const ring = new RingReader(ringFd, 16 * 1024 * 1024);
const opts = Buffer.alloc(80);
opts.writeBigUInt64LE(80n, 0);

let sum = 0;
const onRecord = (rec: Buffer) => {
  sum += rec.readUInt16LE(0) + rec.length;
};
for (const mode of ['walk']) {
  let busy = 0n;
  let total = 0;
  for (let r = 0; r < rounds + 2; r++) {
    if (testRun(fd, opts) !== 0) throw new Error(`test_run failed (errno ${koffi.errno()})`);
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (let k; (k = ring.drain(onRecord, 1 << 20)) > 0; ) n += k;
    const dt = process.hrtime.bigint() - t0;
    if (r >= 2) {
      busy += dt;
      total += n;
    } // first two rounds warm the JIT
  }
  const s = Number(busy) / 1e9;
  process.stdout.write(`${JSON.stringify({ mode, records: total, seconds: s, recordsPerSec: Math.round(total / s), check: sum & 1 })}\n`);
}
ring.close();
bpf.close(o);
