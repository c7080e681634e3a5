// `sysmon-ts view FILE`: a human-readable view of a .jsonl or .evtx file, like Sysmon for
// Linux's sysmonLogView: "Event <ID>: <name>" then one "\t<Field>: <value>" line per EventData
// field, and a blank line. Control characters in values are shown escaped (\n, \t, \xNN) so a
// value can neither fake another line nor send escape sequences to the terminal; invalid UTF-8
// bytes (U+DC80..U+DCFF) are shown as \xNN.
import { eventDef } from '../events/schema.js';
import type { FieldValue } from '../events/event.js';
import { readEvents } from './convert.js';

export interface TextOut {
  write(text: string): unknown;
}

export function viewText(v: FieldValue | undefined): string {
  if (v === undefined) return '-';
  // eslint-disable-next-line no-control-regex
  return String(v).replace(/[\u0000-\u001f\u007f]|(?<![\ud800-\udbff])[\udc80-\udcff]/g, (c) => {
    const n = c.charCodeAt(0);
    if (n === 0x0a) return '\\n';
    if (n === 0x09) return '\\t';
    if (n === 0x0d) return '\\r';
    return `\\x${(n >= 0xdc80 ? n - 0xdc00 : n).toString(16).padStart(2, '0')}`;
  });
}

export async function runView(path: string, out: TextOut = process.stdout): Promise<number> {
  let n = 0;
  for await (const { event } of readEvents(path)) {
    const def = eventDef(event.id);
    let text = `Event ${event.id}: ${def.template}\n`;
    const names = new Set(def.fields.map((f) => f.name));
    for (const f of def.fields) if (f.name in event.data) text += `\t${f.name}: ${viewText(event.data[f.name])}\n`;
    for (const [k, v] of Object.entries(event.data)) if (!names.has(k)) text += `\t${k}: ${viewText(v)}\n`;
    out.write(`${text}\n`);
    n++;
  }
  return n;
}
