// ECS-style JSON lines (`--jsonl-format ecs`) for users shipping into Elasticsearch/OpenSearch:
// the field names Elastic's Sysmon integration produces (process.*, user.*, source.*,
// destination.*, file.*, dns.*, registry.*), plus the untouched record under winlog.* like
// Elastic's windows/sysmon data streams. The mapping table is in sinks/README.md.
import type { FieldValue, Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, eventName } from '../../src/events/schema.js';
import { isoTime } from '../../src/events/time.js';

type Obj = Record<string, unknown>;

const CATEGORY: Record<number, [string[], string[]]> = {
  1: [['process'], ['start']],
  2: [['file'], ['change']],
  3: [['network'], ['connection', 'start']],
  4: [['process'], ['change']],
  5: [['process'], ['end']],
  6: [['driver'], ['start']],
  7: [['process'], ['change']],
  8: [['process'], ['change']],
  9: [['file'], ['access']],
  10: [['process'], ['access']],
  11: [['file'], ['creation']],
  12: [['registry'], ['change']],
  13: [['registry'], ['change']],
  14: [['registry'], ['change']],
  15: [['file'], ['creation']],
  16: [['configuration'], ['change']],
  17: [['file'], ['creation']],
  18: [['file'], ['access']],
  19: [['process'], ['change']],
  20: [['process'], ['change']],
  21: [['process'], ['change']],
  22: [['network'], ['protocol', 'info']],
  23: [['file'], ['deletion']],
  24: [['process'], ['change']],
  25: [['process'], ['change']],
  26: [['file'], ['deletion']],
  27: [['file'], ['denied']],
  28: [['file'], ['denied']],
  29: [['file'], ['creation']],
  100: [['process'], ['change']],
  255: [['host'], ['error']],
};

function str(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  return s === '-' || s === '' ? undefined : s;
}

function num(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i >= 0 ? path.slice(i + 1) : path;
}

function dirName(path: string): string | undefined {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i > 0 ? path.slice(0, i) : i === 0 ? path.slice(0, 1) : undefined;
}

function ext(path: string): string | undefined {
  const b = baseName(path);
  const i = b.lastIndexOf('.');
  return i > 0 ? b.slice(i + 1) : undefined;
}

/** set a dotted path, skipping undefined values */
function put(o: Obj, path: string, v: unknown): void {
  if (v === undefined) return;
  const keys = path.split('.');
  let cur = o;
  for (let i = 0; i < keys.length - 1; i++) {
    const k = keys[i]!;
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Obj;
  }
  cur[keys[keys.length - 1]!] = v;
}

/** "SHA1=..,MD5=..,SHA256=..,IMPHASH=.." -> {sha1, md5, sha256, imphash} */
export function parseHashes(v: FieldValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const s = str(v);
  if (!s) return out;
  for (const part of s.split(',')) {
    const i = part.indexOf('=');
    if (i > 0)
      out[part.slice(0, i).trim().toLowerCase()] = part
        .slice(i + 1)
        .trim()
        .toLowerCase();
  }
  return out;
}

function putHashes(o: Obj, prefix: string, v: FieldValue | undefined): void {
  const h = parseHashes(v);
  for (const [alg, val] of Object.entries(h)) {
    if (alg === 'imphash') put(o, `${prefix.replace(/\.hash$/, '')}.pe.imphash`, val);
    else put(o, `${prefix}.${alg}`, val);
  }
}

function putUser(o: Obj, prefix: string, v: FieldValue | undefined): void {
  const s = str(v);
  if (!s) return;
  const i = s.indexOf('\\');
  if (i > 0) {
    put(o, `${prefix}.domain`, s.slice(0, i));
    put(o, `${prefix}.name`, s.slice(i + 1));
  } else put(o, `${prefix}.name`, s);
}

function putProcess(o: Obj, prefix: string, guid: FieldValue | undefined, pid: FieldValue | undefined, image: FieldValue | undefined): void {
  put(o, `${prefix}.entity_id`, str(guid));
  put(o, `${prefix}.pid`, num(pid));
  const img = str(image);
  if (img) {
    put(o, `${prefix}.executable`, img);
    put(o, `${prefix}.name`, baseName(img));
  }
}

function putFile(o: Obj, path: FieldValue | undefined): void {
  const p = str(path);
  if (!p) return;
  put(o, 'file.path', p);
  put(o, 'file.name', baseName(p));
  put(o, 'file.directory', dirName(p));
  put(o, 'file.extension', ext(p));
}

/** One ECS-style JSON line (with trailing \n). */
export function encodeEcs(ev: SysmonEvent, who: Identity): string {
  const d = ev.data;
  const def = eventDef(ev.id);
  const o: Obj = {};
  const utc = str(d.UtcTime);
  o['@timestamp'] = utc && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(utc) ? `${utc.replace(' ', 'T')}Z` : isoTime(ev.timeNs);
  const [category, type] = CATEGORY[ev.id] ?? [['host'], ['info']];
  o.event = {
    code: String(ev.id),
    provider: who.provider,
    module: 'sysmon',
    kind: ev.id === 255 ? 'alert' : 'event',
    category,
    type,
    action: eventName(ev.id),
    created: isoTime(ev.timeNs),
  };
  put(o, 'host.name', who.computer);
  put(o, 'rule.name', str(d.RuleName));
  put(o, 'message', def.template);

  putProcess(o, 'process', d.ProcessGuid ?? d.SourceProcessGuid ?? d.SourceProcessGUID, d.ProcessId ?? d.SourceProcessId, d.Image ?? d.SourceImage);
  put(o, 'process.command_line', str(d.CommandLine));
  put(o, 'process.working_directory', str(d.CurrentDirectory));
  // PE metadata: of the process for ProcessCreate, of the loaded module for ImageLoad
  const pe = ev.id === 1 ? 'process.pe' : ev.id === 7 ? 'file.pe' : null;
  if (pe) {
    put(o, `${pe}.file_version`, str(d.FileVersion));
    put(o, `${pe}.description`, str(d.Description));
    put(o, `${pe}.product`, str(d.Product));
    put(o, `${pe}.company`, str(d.Company));
    put(o, `${pe}.original_file_name`, str(d.OriginalFileName));
  }
  if (ev.id === 1) putHashes(o, 'process.hash', d.Hashes);
  putProcess(o, 'process.parent', d.ParentProcessGuid, d.ParentProcessId, d.ParentImage);
  put(o, 'process.parent.command_line', str(d.ParentCommandLine));
  putUser(o, 'user', d.User ?? d.SourceUser);
  if (ev.id === 1) putUser(o, 'process.parent.user', d.ParentUser);

  if (ev.id === 3) {
    put(o, 'network.transport', str(d.Protocol));
    put(
      o,
      'network.direction',
      d.Initiated === true || d.Initiated === 'true' ? 'egress' : d.Initiated === false || d.Initiated === 'false' ? 'ingress' : undefined,
    );
    put(o, 'network.type', d.SourceIsIpv6 === true || d.SourceIsIpv6 === 'true' ? 'ipv6' : 'ipv4');
    put(o, 'source.ip', str(d.SourceIp));
    put(o, 'source.port', num(d.SourcePort));
    put(o, 'source.domain', str(d.SourceHostname));
    put(o, 'destination.ip', str(d.DestinationIp));
    put(o, 'destination.port', num(d.DestinationPort));
    put(o, 'destination.domain', str(d.DestinationHostname));
  }
  if (ev.id === 22) {
    put(o, 'dns.question.name', str(d.QueryName));
    const results = str(d.QueryResults);
    if (results) {
      const ips = results
        .split(';')
        .map((x) => x.trim().replace(/^::ffff:/, ''))
        .filter((x) => /^[\d.]+$|:/.test(x) && !x.startsWith('type:'));
      if (ips.length) put(o, 'dns.resolved_ip', ips);
    }
    put(o, 'dns.response_code', str(d.QueryStatus));
  }
  if (d.TargetFilename !== undefined) putFile(o, d.TargetFilename);
  else if (ev.id === 6 || ev.id === 7) putFile(o, d.ImageLoaded);
  else if (ev.id === 9) put(o, 'file.path', str(d.Device));
  else if (ev.id === 17 || ev.id === 18) put(o, 'file.name', str(d.PipeName));
  if (ev.id === 7 || ev.id === 6 || ev.id === 23 || ev.id === 26 || ev.id === 15 || ev.id === 29) putHashes(o, 'file.hash', d.Hashes ?? d.Hash);
  if (ev.id >= 12 && ev.id <= 14) {
    put(o, 'registry.path', str(d.TargetObject));
    put(o, 'registry.data.strings', str(d.Details) !== undefined ? [str(d.Details)] : undefined);
  }
  if (ev.id === 255) put(o, 'error.message', str(d.Description));

  // the untouched record, as Elastic's windows.sysmon_operational keeps it
  o.winlog = {
    event_id: String(ev.id),
    provider_name: who.provider,
    provider_guid: who.providerGuid,
    channel: who.channel,
    computer_name: who.computer,
    record_id: ev.recordId,
    version: def.version,
    event_data: d,
  };
  return `${JSON.stringify(o)}\n`;
}

/** EventRecordID of a line written by encodeJsonl or encodeEcs (0 if none). */
export function recordIdOfLine(line: string): number {
  try {
    const o = JSON.parse(line) as { EventRecordID?: unknown; winlog?: { record_id?: unknown } };
    if (typeof o.EventRecordID === 'number') return o.EventRecordID;
    if (typeof o.winlog?.record_id === 'number') return o.winlog.record_id;
  } catch {
    /* not JSON: torn or foreign line */
  }
  return 0;
}
