// EVTX reader throughput, this checkout against another git ref, interleaved A/B in one run
// (the machine is shared and noisy: compare the ratio, not the absolute numbers).
//   tsx bench/evtx-read-ab.ts [--ref main] [--events 30000] [--reps 5]
// Reads one multi-chunk file of our writer with each reader's readEvtxRecords + recordToEvent.
// The other ref's reader is copied next to ours for the run (its relative imports resolve)
// and removed afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LINUX_IDENTITY } from '../src/events/event.js';
import { createEvtxSink } from '../sinks/evtx/writer.js';
import { makeEvent } from '../test/evtx/fixtures.js';
import * as ours from '../sinks/evtx/reader.js';

const ROOT = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const opt = (f: string, d: string) => {
  const i = argv.indexOf(`--${f}`);
  return i >= 0 ? argv[i + 1]! : d;
};
const ref = opt('ref', 'main');
const N = Number(opt('events', '30000'));
const reps = Number(opt('reps', '5'));

type Reader = Pick<typeof ours, 'readEvtxRecords' | 'recordToEvent'>;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'evtx-read-ab-'));
  const otherPath = join(ROOT, 'sinks/evtx', `reader.ab-${process.pid}.tmp.ts`);
  try {
    const file = join(dir, 'big.evtx');
    const ids = [1, 3, 5, 11, 255];
    const sink = createEvtxSink(file, { identity: { ...LINUX_IDENTITY, computer: 'ab' }, fsync: false });
    await sink.open();
    for (let i = 0; i < N; i += 1000) await sink.write(Array.from({ length: Math.min(1000, N - i) }, (_, k) => makeEvent(ids[(i + k) % 5]!, i + k + 1)));
    await sink.close();
    writeFileSync(otherPath, execFileSync('git', ['-C', ROOT, 'show', `${ref}:sinks/evtx/reader.ts`]));
    const other = (await import(otherPath)) as Reader;
    const rates: Record<string, number[]> = { [ref]: [], ours: [] };
    for (let r = 0; r < reps; r++) {
      for (const [name, R] of [
        [ref, other],
        ['ours', ours as Reader],
      ] as const) {
        const t = performance.now();
        let n = 0;
        for (const rec of R.readEvtxRecords(file)) if (R.recordToEvent(rec)) n++;
        if (n !== N) throw new Error(`${name} read ${n} of ${N}`);
        rates[name]!.push(N / ((performance.now() - t) / 1000));
      }
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    process.stdout.write(
      `${JSON.stringify({ events: N, reps, [`${ref}PerSec`]: Math.round(med(rates[ref]!)), oursPerSec: Math.round(med(rates.ours!)), ratio: Number((med(rates.ours!) / med(rates[ref]!)).toFixed(2)) })}\n`,
    );
  } finally {
    rmSync(otherPath, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
