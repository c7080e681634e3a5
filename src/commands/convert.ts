// `sysmon-ts convert IN OUT`: between .jsonl, .evtx and .xml, chosen by extension.
//   .jsonl  one event per line (docs/outputs.md), streamed (./jsonl-input.ts); a malformed line is
//           reported with its number and skipped, the exit status is then 1
//   .evtx   Windows Event Log file, ours or Windows' (sinks/evtx/reader.ts); written with
//           sinks/evtx/writer.ts without rotation (one file, up to 65535 chunks)
//   .xml    output only: one <Event> document per line (not wrapped in an <Events> root),
//           rendered by sinks/shared/xml-render.ts in the dialect of the event's provider: Sysmon for
//           Linux's syslog form for Linux-Sysmon events, Windows Event XML for Windows ones
// Records of an .evtx input that are not events of a Sysmon provider (Linux-Sysmon,
// Microsoft-Windows-Sysmon) with a known ID are skipped and counted per provider. Damaged
// records are reported (file, chunk, record, reason) and skipped; the rest is converted and
// flushed; the CLI then exits 1. JSONL -> EVTX keeps each event's Computer, provider and
// Version; an EventRecordID that is not above the previous one is renumbered (counted).
// On a terminal, a progress line is drawn on stderr every 10,000 events.
// OUT is written to a temporary beside it and renamed into place at the end, also after an
// error (src/fs/safe-file.ts): a symlink at OUT is refused, never followed.
import { createWriteStream } from 'node:fs';
import { extname } from 'node:path';
import { ReplacementFile } from '../fs/safe-file.js';
import { openInput, readJsonlLines } from './jsonl-input.js';
import { LINUX_IDENTITY, WINDOWS_IDENTITY, type Identity, type SysmonEvent } from '../events/event.js';
import { encodeJsonl, eventFromJson } from '../../sinks/shared/jsonl-encode.js';
import { classifyRecord, issueText, readEvtxRecords, type ReadIssue } from '../../sinks/evtx/reader.js';
import type { RecordMeta } from '../../sinks/evtx/chunk.js';
import { EvtxWriter } from '../../sinks/evtx/writer.js';
import { renderEventXml } from '../../sinks/shared/xml-render.js';
import { CHUNK_SIZE, FILE_HEADER_SIZE, MAX_CHUNKS } from '../../sinks/evtx/format.js';

export interface SourceEvent {
  event: SysmonEvent;
  identity: Identity;
  /** System/Version as the input has it (EVTX record, JSONL "Version"); absent: the schema's */
  version?: number;
}

export interface ConvertResult {
  /** events written to the output (exactly what it holds) */
  events: number;
  /** EVTX records that are not Sysmon events: another provider, or an unknown event ID */
  skipped: number;
  /** JSONL lines that are not events (each reported with its line number) */
  malformed: number;
  /** EVTX records (or damaged regions) that could not be read: each reported, then skipped */
  damaged: number;
  /** events written to an .evtx under the next EventRecordID because theirs was not above the previous one */
  renumbered: number;
  /** warnings about data that was still read (bad checksums, a truncated last chunk) */
  warnings: number;
}

type Format = 'jsonl' | 'evtx' | 'xml';

export function formatOf(path: string): Format {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl' || ext === '.json' || ext === '.ndjson') return 'jsonl';
  if (ext === '.evtx') return 'evtx';
  if (ext === '.xml') return 'xml';
  throw new Error(`${path}: unknown format (use .jsonl, .evtx or .xml)`);
}

function identityFromJson(o: Record<string, unknown>): Identity {
  const provider = typeof o.Provider === 'string' ? o.Provider : LINUX_IDENTITY.provider;
  const known = provider === WINDOWS_IDENTITY.provider ? WINDOWS_IDENTITY : LINUX_IDENTITY;
  return {
    provider,
    providerGuid: provider === known.provider ? known.providerGuid : LINUX_IDENTITY.providerGuid,
    channel: typeof o.Channel === 'string' ? o.Channel : known.channel,
    computer: typeof o.Computer === 'string' ? o.Computer : '',
  };
}

function versionFromJson(o: Record<string, unknown>): number | undefined {
  const v = o.Version;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255 ? v : undefined;
}

/** What was not converted, and what was said about it. */
export interface SkipCounts {
  /** EVTX records of other providers or unknown IDs */
  n: number;
  malformed: number;
  damaged: number;
  warnings: number;
  /** skipped records per provider name (and "Linux-Sysmon #99" for unknown Sysmon IDs) */
  byProvider?: Map<string, number>;
  /** told about each malformed line, damaged record and warning (default: stderr) */
  warn?: (text: string) => void;
  /** prefix of the messages (default "convert") */
  who?: string;
}

export function newSkipCounts(warn?: (text: string) => void, who = 'convert'): SkipCounts {
  return { n: 0, malformed: 0, damaged: 0, warnings: 0, byProvider: new Map(), warn, who };
}

/**
 * Events of a .jsonl or .evtx file, in file order. A malformed JSONL line, or an EVTX record
 * that cannot be read, is reported (through `skipped.warn`) and skipped; reading goes on.
 * Without `skipped` the first malformed line throws.
 */
export async function* readEvents(path: string, skipped?: SkipCounts): AsyncGenerator<SourceEvent> {
  const fmt = formatOf(path);
  const say = (t: string) => (skipped?.warn ?? ((x: string) => process.stderr.write(x)))(`${skipped?.who ?? 'convert'}: ${t}\n`);
  if (fmt === 'jsonl') {
    for await (const item of readJsonlLines(await openInput(path))) {
      let event: SysmonEvent;
      try {
        if ('error' in item) throw new Error(item.error);
        event = eventFromJson(item.value);
      } catch (e) {
        if (!skipped) throw new Error(`${path}:${item.line}: ${(e as Error).message}`);
        skipped.malformed++;
        say(`${path}:${item.line}: malformed event skipped: ${(e as Error).message}`);
        continue;
      }
      yield { event, identity: identityFromJson(item.value), version: versionFromJson(item.value) };
    }
  } else if (fmt === 'evtx') {
    const onIssue = (i: ReadIssue) => {
      if (skipped) {
        if (i.kind === 'damage') skipped.damaged += Math.max(i.lost, 1);
        else skipped.warnings++;
      }
      say(`${i.kind === 'damage' ? 'damaged' : 'warning'}: ${issueText(i)}`);
    };
    for (const rec of readEvtxRecords(path, { onIssue })) {
      const v = classifyRecord(rec);
      if ('event' in v) {
        yield v.event;
        continue;
      }
      if (!skipped) continue;
      skipped.n++;
      const key = v.skip === 'unknown-id' ? `${v.provider} #${v.id ?? '?'}` : v.provider || '(no provider)';
      skipped.byProvider?.set(key, (skipped.byProvider.get(key) ?? 0) + 1);
    }
  } else throw new Error(`${path}: .xml is an output format only`);
}

/** "Microsoft-Windows-Kernel-General: 3, Security: 2" (most first) */
export function providerSummary(m: Map<string, number>): string {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

/**
 * Convert `inPath` to `outPath`. Damaged input is reported and skipped, and whatever was
 * converted is flushed to the output before returning, or before an error is thrown (the
 * output then holds every event converted up to it).
 */
export async function runConvert(inPath: string, outPath: string, warn?: (text: string) => void): Promise<ConvertResult> {
  const outFmt = formatOf(outPath);
  const skipped = newSkipCounts(warn);
  let events = 0;
  let renumbered = 0;
  const tty = process.stderr.isTTY === true;
  const progress = () => {
    if (tty && events % 10000 === 0) process.stderr.write(`\rconvert: ${events} events`);
  };
  const source = readEvents(inPath, skipped);
  const target = await ReplacementFile.create(outPath, 0o640, 'convert output', { read: true });
  try {
    if (outFmt === 'evtx') {
      // the writer fills the (empty) temporary by its path
      let writer: EvtxWriter | null = null;
      let batch: SysmonEvent[] = [];
      let meta: RecordMeta[] = [];
      const flush = async () => {
        if (!writer) {
          // an input without events still gives a valid, empty file
          writer = new EvtxWriter(target.tempPath, { identity: { ...LINUX_IDENTITY, computer: '' }, fsync: false, renumber: true });
          await writer.open();
        }
        await writer.write(batch, meta);
        batch = [];
        meta = [];
      };
      try {
        for await (const { event, identity, version } of source) {
          if (!writer) {
            writer = new EvtxWriter(target.tempPath, { identity, fsync: false, renumber: true, maxBytes: FILE_HEADER_SIZE + MAX_CHUNKS * CHUNK_SIZE });
            await writer.open();
          }
          batch.push(event);
          meta.push({ identity, version });
          events++;
          progress();
          if (batch.length >= 1000) await flush();
        }
        await flush();
      } finally {
        // what was converted before an error is still written out whole
        if (batch.length > 0) await flush();
        await (writer as EvtxWriter | null)?.close();
      }
      const w = writer as EvtxWriter | null;
      events = w?.stats.events ?? 0;
      renumbered = w?.stats.renumbered ?? 0;
    } else {
      // on the temporary's fd, left open for commit() (a stream on the FileHandle would keep it from closing)
      const out = createWriteStream('', { fd: target.handle.fd, autoClose: false });
      const done = new Promise<void>((resolve, reject) => {
        out.on('finish', resolve);
        out.on('error', reject);
      });
      try {
        for await (const { event, identity } of source) {
          const text =
            outFmt === 'jsonl'
              ? encodeJsonl(event, identity)
              : `${renderEventXml(event, identity, { dialect: identity.provider === WINDOWS_IDENTITY.provider ? 'windows' : 'linux' })}\n`;
          if (!out.write(text))
            await new Promise<void>((r) => {
              out.once('drain', () => r());
            });
          events++;
          progress();
        }
      } finally {
        out.end();
        await done;
      }
    }
  } catch (e) {
    // what was converted before the error was flushed above: it replaces OUT too
    await target.commit(false).catch(() => target.abort());
    throw e;
  }
  await target.commit(false);
  if (tty) process.stderr.write(`\rconvert: ${events} events\n`);
  if (renumbered > 0)
    (warn ?? ((t: string) => process.stderr.write(t)))(
      `convert: ${renumbered} events whose EventRecordID was not above the previous one written under the next number\n`,
    );
  if (skipped.n > 0)
    (warn ?? ((t: string) => process.stderr.write(t)))(
      `convert: ${skipped.n} records that are not Sysmon events skipped (${providerSummary(skipped.byProvider!)})\n`,
    );
  return { events, skipped: skipped.n, malformed: skipped.malformed, damaged: skipped.damaged, renumbered, warnings: skipped.warnings };
}
