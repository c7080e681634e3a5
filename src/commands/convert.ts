// `sysmon-ts convert IN OUT`: between .jsonl, .evtx and .xml, chosen by extension.
//   .jsonl  one event per line (DESIGN.md), streamed (./jsonl-input.ts); a malformed line is
//           reported with its number and skipped, the exit status is then 1
//   .evtx   Windows Event Log file, ours or Windows' (sinks/evtx/reader.ts); written with
//           sinks/evtx/writer.ts without rotation (one file, up to 65535 chunks)
//   .xml    output only: one <Event> document per line (not wrapped in an <Events> root),
//           rendered by sinks/xml/render.ts in the dialect of the event's provider: Sysmon for
//           Linux's syslog form for Linux-Sysmon events, Windows Event XML for Windows ones
// Records of an .evtx input that are not Sysmon events of a known ID are skipped and counted.
// On a terminal, a progress line is drawn on stderr every 10,000 events.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname } from 'node:path';
import { openInput, readJsonlLines } from './jsonl-input.js';
import { LINUX_IDENTITY, WINDOWS_IDENTITY, type Identity, type SysmonEvent } from '../events/event.js';
import { encodeJsonl, eventFromJson } from '../../sinks/jsonl/encode.js';
import { readEvtxRecords, recordToEvent } from '../../sinks/evtx/reader.js';
import { EvtxWriter } from '../../sinks/evtx/writer.js';
import { renderEventXml } from '../../sinks/xml/render.js';
import { CHUNK_SIZE, FILE_HEADER_SIZE, MAX_CHUNKS } from '../../sinks/evtx/format.js';

export interface SourceEvent {
  event: SysmonEvent;
  identity: Identity;
}

export interface ConvertResult {
  events: number;
  /** EVTX records that are not Sysmon events of a known ID */
  skipped: number;
  /** JSONL lines that are not events (each reported with its line number) */
  malformed: number;
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

/** What was not converted: non-Sysmon EVTX records, and malformed JSONL lines (reported). */
export interface SkipCounts {
  n: number;
  malformed: number;
  /** told about each malformed line (default: stderr) */
  warn?: (text: string) => void;
}

/** Events of a .jsonl or .evtx file, in file order. A malformed JSONL line is reported and skipped. */
export async function* readEvents(path: string, skipped?: SkipCounts): AsyncGenerator<SourceEvent> {
  const fmt = formatOf(path);
  if (fmt === 'jsonl') {
    for await (const item of readJsonlLines(await openInput(path))) {
      let event: SysmonEvent;
      try {
        if ('error' in item) throw new Error(item.error);
        event = eventFromJson(item.value);
      } catch (e) {
        if (!skipped) throw new Error(`${path}:${item.line}: ${(e as Error).message}`);
        skipped.malformed++;
        (skipped.warn ?? ((t) => process.stderr.write(t)))(`convert: ${path}:${item.line}: malformed event skipped: ${(e as Error).message}\n`);
        continue;
      }
      yield { event, identity: identityFromJson(item.value) };
    }
  } else if (fmt === 'evtx') {
    for (const rec of readEvtxRecords(path)) {
      const p = recordToEvent(rec);
      if (p) yield p; else if (skipped) skipped.n++;
    }
  } else throw new Error(`${path}: .xml is an output format only`);
}

export async function runConvert(inPath: string, outPath: string, warn?: (text: string) => void): Promise<ConvertResult> {
  const outFmt = formatOf(outPath);
  const skipped: SkipCounts = { n: 0, malformed: 0, warn };
  let events = 0;
  const tty = process.stderr.isTTY === true;
  const progress = () => { if (tty && events % 10000 === 0) process.stderr.write(`\rconvert: ${events} events`); };
  const source = readEvents(inPath, skipped);
  if (outFmt === 'evtx') {
    await rm(outPath, { force: true });
    let writer: EvtxWriter | null = null;
    let batch: SysmonEvent[] = [];
    for await (const { event, identity } of source) {
      if (!writer) {
        writer = new EvtxWriter(outPath, { identity, fsync: false, maxBytes: FILE_HEADER_SIZE + MAX_CHUNKS * CHUNK_SIZE });
        await writer.open();
      }
      batch.push(event);
      events++;
      progress();
      if (batch.length >= 1000) { await writer.write(batch); batch = []; }
    }
    if (!writer) {
      writer = new EvtxWriter(outPath, { identity: { ...LINUX_IDENTITY, computer: '' }, fsync: false });
      await writer.open();
    }
    await writer.write(batch);
    await writer.close();
  } else {
    const out = createWriteStream(outPath);
    const done = new Promise<void>((resolve, reject) => { out.on('finish', resolve); out.on('error', reject); });
    for await (const { event, identity } of source) {
      const text = outFmt === 'jsonl' ? encodeJsonl(event, identity) : `${renderEventXml(event, identity, { dialect: identity.provider === WINDOWS_IDENTITY.provider ? 'windows' : 'linux' })}\n`;
      if (!out.write(text)) await new Promise<void>((r) => { out.once('drain', () => r()); });
      events++;
      progress();
    }
    out.end();
    await done;
  }
  if (tty) process.stderr.write(`\rconvert: ${events} events${skipped.n ? `, ${skipped.n} non-Sysmon records skipped` : ''}${skipped.malformed ? `, ${skipped.malformed} malformed lines skipped` : ''}\n`);
  return { events, skipped: skipped.n, malformed: skipped.malformed };
}
