// Top-level option elements of a Sysmon config (schema 4.91 manifest options that may appear
// in a file, plus the documented CopyOnDelete* family and the forced rule-option elements).
// Values are kept in a typed object; options with no meaning on Linux produce one notice each.
import { EVENTS, OPTIONS } from '../events/schema.js';

export interface SysmonOptions {
  /** upper-cased algorithm names (MD5, SHA1, SHA256, IMPHASH) or ['*']; null = not set */
  hashAlgorithms: string[] | null;
  checkRevocation: boolean | null;
  dnsLookup: boolean | null;
  archiveDirectory: string | null;
  /** field name -> max characters, applied to kept events */
  fieldSizes: Map<string, number>;
  captureClipboard: boolean;
  driverName: string | null;
  driverQueueSize: number | null;
  signingQueueSize: number | null;
  copyOnDeletePE: boolean | null;
  copyOnDeleteSIDs: string[] | null;
  copyOnDeleteExtensions: string[] | null;
  copyOnDeleteProcesses: string[] | null;
  processAccessConfig: string | null;
  pipeMonitoringConfig: string | null;
  /** every option element seen, name -> raw text, in document order */
  raw: Map<string, string>;
}

export function emptyOptions(): SysmonOptions {
  return {
    hashAlgorithms: null,
    checkRevocation: null,
    dnsLookup: null,
    archiveDirectory: null,
    fieldSizes: new Map(),
    captureClipboard: false,
    driverName: null,
    driverQueueSize: null,
    signingQueueSize: null,
    copyOnDeletePE: null,
    copyOnDeleteSIDs: null,
    copyOnDeleteExtensions: null,
    copyOnDeleteProcesses: null,
    processAccessConfig: null,
    pipeMonitoringConfig: null,
    raw: new Map(),
  };
}

/** Option elements accepted directly under <Sysmon>. */
export const OPTION_ELEMENTS: readonly string[] = [
  ...OPTIONS.filter((o) => o.configFile && !o.rule).map((o) => o.name),
  'CopyOnDeletePE',
  'CopyOnDeleteSIDs',
  'CopyOnDeleteExtensions',
  'CopyOnDeleteProcesses',
  'ProcessAccessConfig',
  'PipeMonitoringConfig',
];

/** Options that mean something here; every other one gets a "not applicable on Linux" notice. */
const APPLICABLE = new Set(['HashAlgorithms', 'FieldSizes', 'DnsLookup']);

const WHY: Record<string, string> = {
  CheckRevocation: 'Authenticode signature revocation checks are Windows-only',
  ArchiveDirectory: 'file-delete archiving is not implemented on Linux',
  CaptureClipboard: 'there is no clipboard capture on Linux',
  DriverName: 'there is no Windows driver to rename',
  DriverQueueSize: 'the Linux ring buffer is sized by the monitor, not the config',
  SigningQueueSize: 'there is no signature verification queue on Linux',
  CopyOnDeletePE: 'PE archiving is Windows-only',
  CopyOnDeleteSIDs: 'file-delete archiving is not implemented on Linux',
  CopyOnDeleteExtensions: 'file-delete archiving is not implemented on Linux',
  CopyOnDeleteProcesses: 'file-delete archiving is not implemented on Linux',
  ProcessAccessConfig: 'legacy ProcessAccess command-line rule option',
  PipeMonitoringConfig: 'legacy PipeMonitoring command-line rule option',
};

const HASHES = new Set(['MD5', 'SHA1', 'SHA256', 'IMPHASH', '*']);
/** Sysmon's other spellings (SysmonCommon parsecommandline.c, compared case-insensitively) */
const HASH_ALIASES: Record<string, string> = { ALL: '*', 'SHA-256': 'SHA256', 'MD-5': 'MD5', 'SHA-1': 'SHA1', 'IMP-HASH': 'IMPHASH' };
const ALL_FIELDS = new Set(EVENTS.flatMap((e) => e.fields.map((f) => f.name)));

export class OptionError extends Error {}

function parseBool(name: string, text: string): boolean {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'true' || t === '1' || t === 'enabled' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'disabled' || t === 'null' || t === 'no') return false;
  throw new OptionError(`${name}: expected true or false, got ${JSON.stringify(text)}`);
}

function parseCount(name: string, text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new OptionError(`${name}: expected a number, got ${JSON.stringify(text)}`);
  return Number(t);
}

function parseList(text: string, sep: RegExp): string[] {
  return text
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** FieldSizes `Name:Len,Name:Len` (Sysmon: alnum, ',' and ':' only; size > 0; field must exist). */
export function parseFieldSizes(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const t = text.trim();
  if (t === '') return out;
  if (!/^[A-Za-z0-9,:]+$/.test(t)) throw new OptionError(`FieldSizes: only letters, digits, ',' and ':' are allowed in ${JSON.stringify(text)}`);
  for (const part of t.split(',')) {
    if (part === '') continue;
    const m = /^([A-Za-z0-9]+):(\d+)$/.exec(part);
    if (!m) throw new OptionError(`FieldSizes: expected Name:Length, got ${JSON.stringify(part)}`);
    const size = Number(m[2]);
    if (!ALL_FIELDS.has(m[1]!)) throw new OptionError(`FieldSizes: unknown field ${JSON.stringify(m[1])}`);
    if (size <= 0) throw new OptionError(`FieldSizes: size of ${m[1]} must be greater than 0`);
    out.set(m[1]!, size);
  }
  return out;
}

/** Apply one option element; returns a notice when it has no meaning on Linux. Throws OptionError. */
export function applyOption(opts: SysmonOptions, name: string, text: string): string | null {
  opts.raw.set(name, text);
  switch (name) {
    case 'HashAlgorithms': {
      const algs = parseList(text, /,/)
        .map((a) => a.toUpperCase())
        .map((a) => HASH_ALIASES[a] ?? a);
      for (const a of algs)
        if (!HASHES.has(a)) throw new OptionError(`HashAlgorithms: unknown algorithm ${JSON.stringify(a)} (expected MD5, SHA1, SHA256, IMPHASH, * or all)`);
      opts.hashAlgorithms = algs.includes('*') ? ['*'] : algs;
      break;
    }
    case 'CheckRevocation':
      opts.checkRevocation = parseBool(name, text);
      break;
    case 'DnsLookup':
      opts.dnsLookup = parseBool(name, text);
      break;
    case 'ArchiveDirectory':
      opts.archiveDirectory = text.trim();
      break;
    case 'FieldSizes':
      opts.fieldSizes = parseFieldSizes(text);
      break;
    case 'CaptureClipboard':
      opts.captureClipboard = parseBool(name, text);
      break;
    case 'DriverName':
      opts.driverName = text.trim();
      break;
    case 'DriverQueueSize':
      opts.driverQueueSize = parseCount(name, text);
      break;
    case 'SigningQueueSize':
      opts.signingQueueSize = parseCount(name, text);
      break;
    case 'CopyOnDeletePE':
      opts.copyOnDeletePE = parseBool(name, text);
      break;
    case 'CopyOnDeleteSIDs':
      opts.copyOnDeleteSIDs = parseList(text, /[;,]/);
      break;
    case 'CopyOnDeleteExtensions':
      opts.copyOnDeleteExtensions = parseList(text, /[;,]/);
      break;
    case 'CopyOnDeleteProcesses':
      opts.copyOnDeleteProcesses = parseList(text, /[;,]/);
      break;
    case 'ProcessAccessConfig':
      opts.processAccessConfig = text;
      break;
    case 'PipeMonitoringConfig':
      opts.pipeMonitoringConfig = text;
      break;
    default:
      throw new OptionError(`unknown option element <${name}>`);
  }
  if (APPLICABLE.has(name)) return null;
  return `option ${name} is not applicable on Linux and is ignored (${WHY[name] ?? 'Windows-only'})`;
}
