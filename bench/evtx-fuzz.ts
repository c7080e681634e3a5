// EVTX reader fuzzing (issue 19). Damages valid files and checks that the reader never
// throws (except "not an EVTX file" when the file magic itself was hit), never hangs, and still
// returns every untouched record exactly as in the intact file.
//
//   npm run bench -- --evtx-fuzz [--seed N] [--iterations N | --minutes M] [--no-write]
//   tsx bench/evtx-fuzz.ts --seed 19 --iterations 300 --json      (what `npm test` runs)
//
// Inputs: a multi-chunk file from our writer (hostile strings, a record near the 64 KiB limit),
// and built files (test/evtx/builder.ts) with records without templates in both element
// layouts, CAPI2-style BinXml values and non-Sysmon providers. Damage: truncation, flipped bytes
// in records / chunk headers / the file header, zeroed chunks and ranges, absurd record sizes,
// template value counts and name lengths ("huge records"), and combinations. A record is
// "untouched" when the file still holds all of it, none of its bytes were damaged, and neither
// were those of the earlier records of its chunk whose template definitions and names it uses
// (found by blanking each record of the intact file in turn); damage to headers or to any other
// record, before or after it, does not excuse a missing or different record.
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { LINUX_IDENTITY, type SysmonEvent } from '../src/events/event.js';
import { createEvtxSink } from '../sinks/evtx/writer.js';
import { chunkRecords, classifyRecord, readEvtxRecords, renderNode, type EvtxRecord } from '../sinks/evtx/reader.js';
import { CHUNK_HEADER_SIZE, CHUNK_SIZE, FILE_HEADER_SIZE } from '../sinks/evtx/format.js';
import { encodeJsonl } from '../sinks/shared/jsonl-encode.js';
import { hostileEvents, longCommandLineEvent, makeEvent } from '../test/evtx/fixtures.js';
import { ChunkBuilder, evtxFile, plainRecord, templatedRecord, userDataRecord, type Content, type SimpleEvent } from '../test/evtx/builder.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Deterministic PRNG (mulberry32): the same seed gives the same damage. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RecordPlace {
  chunk: number;
  start: number;
  end: number;
  xml: string;
  /** earlier records of its chunk whose bytes it uses (template definitions, names) */
  needs: RecordPlace[];
}
interface Base {
  name: string;
  bytes: Buffer;
  records: RecordPlace[];
}

function readFile(path: string, onIssue?: () => void): EvtxRecord[] {
  return [...readEvtxRecords(path, { onIssue })];
}

function xmlOf(r: EvtxRecord): string {
  return r.root[0] ? renderNode(r.root[0]) : '';
}

/**
 * Which earlier records of its chunk each record uses: blank one record's Binary XML and see
 * which later records of the chunk then fail or read differently (their template definitions
 * and names are inline in the first record that used them).
 */
function findDependencies(bytes: Buffer, records: RecordPlace[]): void {
  const byChunk = new Map<number, RecordPlace[]>();
  for (const r of records) byChunk.set(r.chunk, [...(byChunk.get(r.chunk) ?? []), r]);
  for (const [chunk, recs] of byChunk) {
    const at = FILE_HEADER_SIZE + chunk * CHUNK_SIZE;
    const original = bytes.subarray(at, at + CHUNK_SIZE);
    recs.forEach((j, jx) => {
      const c = Buffer.from(original);
      c.fill(0, j.start - at + 24, j.end - at - 4);
      const after = new Map<number, string>();
      for (const r of chunkRecords(c, chunk, undefined, { file: 'deps', offset: at, available: CHUNK_SIZE })) after.set(r.offset!, xmlOf(r));
      for (const k of recs.slice(jx + 1)) if (after.get(k.start) !== k.xml) k.needs.push(j);
    });
  }
}

async function baseFiles(dir: string): Promise<Base[]> {
  const out: Base[] = [];
  const add = (name: string, path: string) => {
    const bytes = readFileSync(path);
    const records: RecordPlace[] = readFile(path).map((r) => ({
      chunk: r.chunk,
      start: r.offset!,
      end: r.offset! + bytes.readUInt32LE(r.offset! + 4),
      xml: xmlOf(r),
      needs: [],
    }));
    findDependencies(bytes, records);
    out.push({ name, bytes, records });
  };
  // ours: several chunks, hostile strings, one record near the chunk limit
  const ours = join(dir, 'ours.evtx');
  const ids = [1, 3, 5, 11, 255];
  const evs: SysmonEvent[] = [...hostileEvents(1), longCommandLineEvent(6), ...Array.from({ length: 300 }, (_, i) => makeEvent(ids[i % 5]!, 7 + i))];
  const sink = createEvtxSink(ours, { identity: { ...LINUX_IDENTITY, computer: 'fuzz' }, fsync: false });
  await sink.open();
  for (let i = 0; i < evs.length; i += 50) await sink.write(evs.slice(i, i + 50));
  await sink.close();
  add('ours', ours);
  // built: templateless (both layouts), CAPI2-style values, foreign providers, templated Sysmon
  const chunks = [new ChunkBuilder()];
  let n = 0;
  for (let i = 0; i < 240; i++) {
    const ev: SimpleEvent = {
      provider: i % 5 === 4 ? 'Microsoft-Windows-CAPI2' : i % 3 === 0 ? 'Microsoft-Windows-Kernel-General' : 'Microsoft-Windows-Sysmon',
      providerGuid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}',
      channel: 'Ch',
      computer: `h${i % 4}`,
      eventId: 1 + (i % 29),
      version: i % 6,
      recordId: 9000n + BigInt(i),
      timeNs: 1_790_000_000_000_000_000n + BigInt(i),
      data: [
        ['RuleName', `r${i}`],
        ['ProcessId', String(i)],
        ['Image', `C:\\p${i}.exe`],
      ],
    };
    const bodies: Content[] = [plainRecord(ev, false), plainRecord(ev, true), templatedRecord(ev), userDataRecord(ev, false), userDataRecord(ev, true)];
    if (chunks.at(-1)!.free < 4096) chunks.push(new ChunkBuilder());
    chunks.at(-1)!.record(BigInt(++n), ev.timeNs, bodies[i % bodies.length]!);
  }
  const built = join(dir, 'built.evtx');
  writeFileSync(built, evtxFile(chunks, BigInt(n + 1)));
  add('built', built);
  return out;
}

type Range = [number, number];
interface Damage {
  bytes: Buffer;
  touched: Range[];
  cut: number;
  kinds: string[];
  magicHit: boolean;
}

const KINDS = ['truncate', 'record-bytes', 'chunk-header', 'file-header', 'zero-chunk', 'zero-range', 'record-size', 'huge-count', 'huge-name'] as const;

function damage(base: Base, r: () => number): Damage {
  let bytes = Buffer.from(base.bytes);
  const touched: Range[] = [];
  const kinds: string[] = [];
  let cut = bytes.length;
  const int = (n: number) => Math.floor(r() * n);
  const chunks = Math.ceil((bytes.length - FILE_HEADER_SIZE) / CHUNK_SIZE);
  const pickRecord = () => base.records[int(base.records.length)]!;
  const flip = (at: number) => {
    if (at < bytes.length) {
      bytes[at] = bytes[at]! ^ (1 + int(255));
      touched.push([at, at + 1]);
    }
  };
  const put32 = (at: number, v: number) => {
    if (at + 4 <= bytes.length) {
      bytes.writeUInt32LE(v >>> 0, at);
      touched.push([at, at + 4]);
    }
  };
  const rounds = 1 + (r() < 0.3 ? int(3) : 0);
  for (let k = 0; k < rounds; k++) {
    const kind = KINDS[int(KINDS.length)]!;
    kinds.push(kind);
    switch (kind) {
      case 'truncate':
        cut = Math.min(cut, FILE_HEADER_SIZE + int(bytes.length - FILE_HEADER_SIZE));
        break;
      case 'record-bytes': {
        const rec = pickRecord();
        for (let i = 1 + int(16); i > 0; i--) flip(rec.start + int(rec.end - rec.start));
        break;
      }
      case 'chunk-header': {
        const c = FILE_HEADER_SIZE + int(chunks) * CHUNK_SIZE;
        for (let i = 1 + int(8); i > 0; i--) flip(c + int(CHUNK_HEADER_SIZE));
        break;
      }
      case 'file-header':
        for (let i = 1 + int(4); i > 0; i--) flip(int(128));
        break;
      case 'zero-chunk': {
        const c = FILE_HEADER_SIZE + int(chunks) * CHUNK_SIZE;
        bytes.fill(0, c, c + CHUNK_SIZE);
        touched.push([c, c + CHUNK_SIZE]);
        break;
      }
      case 'zero-range': {
        const at = FILE_HEADER_SIZE + int(bytes.length - FILE_HEADER_SIZE);
        const end = Math.min(at + 1 + int(4096), bytes.length);
        bytes.fill(0, at, end);
        touched.push([at, end]);
        break;
      }
      case 'record-size': {
        const rec = pickRecord();
        put32(rec.start + 4, [0, 1, 27, 0xffffffff, 0x10000, rec.end - rec.start + 8, int(0x20000)][int(7)]!);
        break;
      }
      // the template value count (right after an inline definition or a back-reference) or any u32 in a record: huge
      case 'huge-count': {
        const rec = pickRecord();
        put32(rec.start + 24 + 4 * int((rec.end - rec.start - 28) / 4), [0xffffffff, 0x7fffffff, 0x10000][int(3)]!);
        break;
      }
      case 'huge-name': {
        const rec = pickRecord();
        const at = rec.start + 24 + 2 * int((rec.end - rec.start - 26) / 2);
        if (at + 2 <= bytes.length) {
          bytes.writeUInt16LE(0xffff, at);
          touched.push([at, at + 2]);
        }
        break;
      }
    }
  }
  if (cut < bytes.length) bytes = bytes.subarray(0, cut);
  const magicHit = touched.some(([a]) => a < 8) || cut < 8;
  return { bytes, touched, cut, kinds, magicHit };
}

/**
 * Records that must still be read, the same: all of their bytes present and undamaged, and so
 * are the earlier records of their chunk whose bytes they use. Damage anywhere else (chunk and
 * file headers, other records before or after them, the chunk's free space) must not matter.
 */
function untouched(base: Base, d: Damage): RecordPlace[] {
  const hit = (r: RecordPlace) => d.touched.some(([a, b]) => a < r.end && b > r.start);
  return base.records.filter((rec) => rec.end <= d.cut && !hit(rec) && !rec.needs.some(hit));
}

export interface FuzzResult {
  seed: number;
  iterations: number;
  byKind: Record<string, number>;
  recordsRead: number;
  untouchedExpected: number;
  untouchedMissing: number;
  untouchedChanged: number;
  unexpectedErrors: number;
  expectedErrors: number;
  issuesReported: number;
  maxMs: number;
  meanMs: number;
  failures: string[];
}

export async function fuzz(seed: number, opts: { iterations?: number; ms?: number }): Promise<FuzzResult> {
  const dir = mkdtempSync(join(tmpdir(), 'evtx-fuzz-'));
  try {
    const bases = await baseFiles(dir);
    const r = rng(seed);
    const res: FuzzResult = {
      seed,
      iterations: 0,
      byKind: {},
      recordsRead: 0,
      untouchedExpected: 0,
      untouchedMissing: 0,
      untouchedChanged: 0,
      unexpectedErrors: 0,
      expectedErrors: 0,
      issuesReported: 0,
      maxMs: 0,
      meanMs: 0,
      failures: [],
    };
    const start = Date.now();
    let totalMs = 0;
    const path = join(dir, 'damaged.evtx');
    for (let i = 0; ; i++) {
      if (opts.iterations !== undefined && i >= opts.iterations) break;
      if (opts.ms !== undefined && Date.now() - start >= opts.ms) break;
      const base = bases[i % bases.length]!;
      const d = damage(base, r);
      for (const k of d.kinds) res.byKind[k] = (res.byKind[k] ?? 0) + 1;
      writeFileSync(path, d.bytes);
      const want = untouched(base, d);
      const t0 = performance.now();
      let got: EvtxRecord[] = [];
      try {
        got = readFile(path, () => {
          res.issuesReported++;
        });
        // and what convert/view do with each record must not throw either
        for (const rec of got) {
          const v = classifyRecord(rec);
          if ('event' in v) encodeJsonl(v.event.event, v.event.identity);
        }
      } catch (e) {
        const msg = (e as Error).message;
        if (d.magicHit && /not an EVTX file/.test(msg)) res.expectedErrors++;
        else {
          res.unexpectedErrors++;
          res.failures.push(`#${i} ${base.name} [${d.kinds.join(',')}]: threw ${msg}`);
        }
        continue;
      } finally {
        const ms = performance.now() - t0;
        totalMs += ms;
        res.maxMs = Math.max(res.maxMs, ms);
        res.iterations++;
      }
      res.recordsRead += got.length;
      res.untouchedExpected += want.length;
      const byOffset = new Map(got.map((g) => [g.offset!, g]));
      for (const w of want) {
        const g = byOffset.get(w.start);
        if (!g) {
          res.untouchedMissing++;
          if (process.env.EVTX_FUZZ_KEEP) writeFileSync(join(process.env.EVTX_FUZZ_KEEP, `fail-${i}.evtx`), d.bytes);
          if (res.failures.length < 20) res.failures.push(`#${i} ${base.name} [${d.kinds.join(',')}]: untouched record at 0x${w.start.toString(16)} not read`);
        } else if (xmlOf(g) !== w.xml) {
          res.untouchedChanged++;
          if (res.failures.length < 20)
            res.failures.push(`#${i} ${base.name} [${d.kinds.join(',')}]: untouched record at 0x${w.start.toString(16)} read differently`);
        }
      }
    }
    res.meanMs = res.iterations ? totalMs / res.iterations : 0;
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- command line ------------------------------------------------------------------------------
export async function main(argv: string[]): Promise<number> {
  const opt = (f: string) => {
    const i = argv.indexOf(`--${f}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seed = Number(opt('seed') ?? 19);
  const iterations = opt('iterations') !== undefined ? Number(opt('iterations')) : undefined;
  const minutes = opt('minutes') !== undefined ? Number(opt('minutes')) : iterations === undefined ? 10 : undefined;
  const res = await fuzz(seed, { iterations, ms: minutes !== undefined ? minutes * 60_000 : undefined });
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(res)}\n`);
  } else {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const lines = [
      `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}, \`npm run bench -- --evtx-fuzz ${argv.join(' ')}\`: EVTX reader fuzzing`,
      '',
      `Machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Seed ${seed}; bench/evtx-fuzz.ts.`,
      '',
      '| damaged files read | records read | untouched records expected | untouched missing | untouched read differently | unexpected throws | "not an EVTX file" (magic hit) | issues reported | mean ms/file | max ms/file |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      `| ${res.iterations} | ${res.recordsRead} | ${res.untouchedExpected} | ${res.untouchedMissing} | ${res.untouchedChanged} | ${res.unexpectedErrors} | ${res.expectedErrors} | ${res.issuesReported} | ${res.meanMs.toFixed(1)} | ${res.maxMs.toFixed(0)} |`,
      '',
      `Damage kinds applied: ${Object.entries(res.byKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}.`,
      ...(res.failures.length ? ['', 'Failures:', ...res.failures.map((f) => `- ${f}`)] : []),
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!argv.includes('--no-write')) appendFileSync(join(ROOT, 'bench/RESULTS.md'), `\n${lines.join('\n')}\n`);
  }
  return res.unexpectedErrors + res.untouchedMissing + res.untouchedChanged === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(ROOT, 'bench/evtx-fuzz.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`evtx-fuzz failed: ${(e as Error).stack}\n`);
      process.exit(2);
    },
  );
}
