// What each sink delivered: the JSONL files (current and rotated) and the syslog receiver's
// output, read back into one small record per event with the fields the soak matches on.
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Delivered {
  recordId: number;
  eventId: number;
  ruleName: string;
  commandLine: string;
  target: string;
  destinationPort: string;
  sourcePort: string;
  initiated: string;
  /** event 255/16/4: what the agent said */
  description: string;
  /** where it was read (file name) */
  from: string;
}

/** every line of events.jsonl and events.jsonl.N in dir (lines that do not parse are reported) */
export function readJsonlSink(dir: string): { events: Delivered[]; files: number; bad: string[] } {
  const files = readdirSync(dir).filter((n) => n === 'events.jsonl' || /^events\.jsonl\.\d+$/.test(n));
  const events: Delivered[] = [];
  const bad: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    if (text.length && !text.endsWith('\n')) bad.push(`${f}: last line has no newline`);
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const o = JSON.parse(line) as { EventID: number; EventRecordID: number; EventData: Record<string, unknown> };
        const d = o.EventData ?? {};
        const s = (k: string) => (d[k] === undefined ? '' : String(d[k]));
        events.push({
          recordId: o.EventRecordID,
          eventId: o.EventID,
          ruleName: s('RuleName'),
          commandLine: s('CommandLine'),
          target: s('TargetFilename'),
          destinationPort: s('DestinationPort'),
          sourcePort: s('SourcePort'),
          initiated: s('Initiated'),
          description: s('Description') || s('Configuration') || s('State'),
          from: f,
        });
      } catch (e) {
        bad.push(`${f}: ${(e as Error).message}: ${line.slice(0, 120)}`);
      }
    }
  }
  return { events, files: files.length, bad };
}

const DATA = /<Data Name="([A-Za-z]+)">([^<]*)<\/Data>/g;

/** the receiver's lines "input|pri|app|procid|host|MSG" (test/sinks/rsyslogd-process.ts), MSG the Event XML */
export async function readSyslogReceiver(file: string): Promise<{ events: Delivered[]; bad: string[] }> {
  const events: Delivered[] = [];
  const bad: string[] = [];
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    const at = line.indexOf('<Event>');
    const rid = /<EventRecordID>(\d+)<\/EventRecordID>/.exec(line);
    const eid = /<EventID>(\d+)<\/EventID>/.exec(line);
    if (at < 0 || !rid || !eid || !line.endsWith('</Event>')) {
      bad.push(line.slice(0, 160));
      continue;
    }
    const d: Record<string, string> = {};
    for (const m of line.slice(at).matchAll(DATA)) d[m[1]!] = m[2]!;
    events.push({
      recordId: Number(rid[1]),
      eventId: Number(eid[1]),
      ruleName: d.RuleName ?? '',
      commandLine: d.CommandLine ?? '',
      target: d.TargetFilename ?? '',
      destinationPort: d.DestinationPort ?? '',
      sourcePort: d.SourcePort ?? '',
      initiated: d.Initiated ?? '',
      description: d.Description ?? d.Configuration ?? d.State ?? '',
      from: 'syslog',
    });
  }
  return { events, bad };
}
