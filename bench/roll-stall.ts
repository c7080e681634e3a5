// How long a journal segment roll holds records back from the sinks: appends batches at a
// steady rate (like the agent's 20 ms polls under a storm) into a journal on the real disk,
// through several 64 MiB rolls, and reports the delay from append() to the batch being
// published (visible), worst and p99, for this tree and optionally another (--root), A/B.
//   node --import tsx bench/roll-stall.ts [--root OTHER_CHECKOUT] [--mib 200] [--batch 2000] [--gap-ms 5] [--reps 2]
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
const opt = (f: string, d: string) => {
  const i = argv.indexOf(`--${f}`);
  return i >= 0 ? argv[i + 1]! : d;
};
const roots = [join(import.meta.dirname, '..'), ...(opt('root', '') ? [opt('root', '')] : [])];
const totalMiB = Number(opt('mib', '200'));
const batch = Number(opt('batch', '2000'));
const gapMs = Number(opt('gap-ms', '5'));
const reps = Number(opt('reps', '2'));

interface JournalLike {
  append(evs: unknown[]): boolean;
  drain(): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  visibleId: number;
  lastId: number;
  segments(): readonly unknown[];
}

/** an event of ~450 bytes encoded, as the agent's FileCreate events are */
function makeEvents(from: number, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const k = from + i;
    out.push({
      id: 11,
      recordId: 0,
      timeNs: 1_780_000_000_000_000_000n + BigInt(k),
      data: {
        RuleName: '-',
        UtcTime: '2026-12-04 23:00:00.123',
        ProcessGuid: '{8b0c2b9e-0000-0000-1234-567800000000}',
        ProcessId: 4242,
        Image: '/usr/bin/some-writer-process',
        TargetFilename: `/var/tmp/bench/roll-stall/file-${k}-with-a-longer-name-as-real-paths-have.tmp`,
        CreationUtcTime: '2026-12-04 23:00:00.123',
        User: 'root',
      },
    });
  }
  return out;
}

async function once(root: string): Promise<{ worst: number; p99: number; rolls: number; batches: number }> {
  const { Journal } = (await import(pathToFileURL(join(root, 'src/journal/index.ts')).href)) as {
    Journal: { open(o: object): Promise<JournalLike> };
  };
  const dir = mkdtempSync('/var/tmp/sysmon-roll-stall-');
  try {
    const j = await Journal.open({ dir, fsync: 'group', retention: { maxBytes: 0, maxAgeMs: 0 } });
    const delays: number[] = [];
    let n = 0;
    const t0 = performance.now();
    const pending: { id: number; at: number }[] = [];
    // one poll of the sinks' view every ms: when did each batch become visible
    const watch = setInterval(() => {
      const now = performance.now();
      while (pending.length && j.visibleId >= pending[0]!.id) delays.push(now - pending.shift()!.at);
    }, 1);
    while (n * 450 < totalMiB * 1048576) {
      const evs = makeEvents(n, batch);
      n += batch;
      if (!j.append(evs)) await j.drain();
      pending.push({ id: j.lastId, at: performance.now() });
      await new Promise((r) => setTimeout(r, gapMs));
    }
    await j.flush();
    await new Promise((r) => setTimeout(r, 5));
    clearInterval(watch);
    const now = performance.now();
    while (pending.length) delays.push(now - pending.shift()!.at);
    const rolls = j.segments().length - 1;
    await j.close();
    delays.sort((a, b) => a - b);
    void t0;
    return { worst: delays[delays.length - 1]!, p99: delays[Math.floor(delays.length * 0.99)]!, rolls, batches: delays.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: string[] = ['| tree | rep | rolls | batches | append -> visible p99 ms | worst ms |', '|---|---|---|---|---|---|'];
for (let r = 0; r < reps; r++) {
  for (const root of r % 2 ? [...roots].reverse() : roots) {
    const x = await once(root);
    rows.push(`| ${root} | ${r + 1} | ${x.rolls} | ${x.batches} | ${x.p99.toFixed(1)} | ${x.worst.toFixed(1)} |`);
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
}
console.log(rows.join('\n'));
