// `sysmon-ts convert IN OUT`: between .jsonl, .evtx and .xml, chosen by extension.
//   .jsonl  one event per line (DESIGN.md), streamed (./jsonl-input.ts); a malformed line is
//           reported with its number and skipped, the exit status is then 1
//   .evtx   Windows Event Log file, ours or Windows' (sinks/evtx/reader.ts); written with
//           sinks/evtx/writer.ts without rotation (one file, up to 65535 chunks)
//   .xml    output only: Windows Event XML, one <Event> document per line (not wrapped in an
//           <Events> root), rendered by sinks/xml/render.ts (dialect 'windows')
// Records of an .evtx input that are not Sysmon events of a known ID are skipped and counted.
// On a terminal, a progress line is drawn on stderr every 10,000 events.
// OUT is written to a temporary beside it and renamed into place at the end (src/fs/safe-file.ts):
// a symlink at OUT is refused, never followed; a failed conversion leaves OUT as it was.
import { extname } from 'node:path';
import { ReplacementFile } from '../fs/safe-file.js';
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
  const target = await ReplacementFile.create(outPath, 0o640, 'convert output', { read: true });
  // what was converted before an error is still written out (then the error is reported)
  let finish: () => Promise<void> = async () => undefined;
  try {
    if (outFmt === 'evtx') {
      // the writer fills the (empty) temporary by its path; renamed over OUT below
      let writer: EvtxWriter | null = null;
      let batch: SysmonEvent[] = [];
      finish = async () => { if (writer) { await writer.write(batch); await writer.close(); } };
      for await (const { event, identity } of source) {
        if (!writer) {
          writer = new EvtxWriter(target.tempPath, { identity, fsync: false, maxBytes: FILE_HEADER_SIZE + MAX_CHUNKS * CHUNK_SIZE });
          await writer.open();
        }
        batch.push(event);
        events++;
        progress();
        if (batch.length >= 1000) { await writer.write(batch); batch = []; }
      }
      if (!writer) {
        writer = new EvtxWriter(target.tempPath, { identity: { ...LINUX_IDENTITY, computer: '' }, fsync: false });
        await writer.open();
      }
      await writer.write(batch);
      await writer.close();
    } else {
      // buffered writes to the temporary's handle (a stream on it would keep it from closing)
      let pending: string[] = [];
      let pendingLen = 0;
      const flushOut = async () => {
        if (pendingLen === 0) return;
        const buf = Buffer.from(pending.join(''));
        pending = [];
        pendingLen = 0;
        for (let off = 0; off < buf.length;) off += (await target.handle.write(buf, off, buf.length - off)).bytesWritten;
      };
      finish = flushOut;
      for await (const { event, identity } of source) {
        const text = outFmt === 'jsonl' ? encodeJsonl(event, identity) : `${renderEventXml(event, identity, { dialect: 'windows' })}\n`;
        pending.push(text);
        pendingLen += text.length;
        if (pendingLen >= 256 * 1024) await flushOut();
        events++;
        progress();
      }
      await flushOut();
    }
  } catch (e) {
    try { await finish(); await target.commit(false); } catch { await target.abort(); }
    throw e;
  }
  await target.commit(false);
  if (tty) process.stderr.write(`\rconvert: ${events} events${skipped.n ? `, ${skipped.n} non-Sysmon records skipped` : ''}${skipped.malformed ? `, ${skipped.malformed} malformed lines skipped` : ''}\n`);
  return { events, skipped: skipped.n, malformed: skipped.malformed };
}
