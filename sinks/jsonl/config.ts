// Options of the JSONL sinks (file and stdout), with their defaults and validation.
import { hostname } from 'node:os';
import { makeIdentity, type Identity, type SysmonEvent } from '../../src/events/event.js';
import { encodeEcs } from './ecs.js';
import { encodeJsonl, jsonlLineWriter } from '../shared/jsonl-encode.js';

export interface JsonlFileOptions {
  /** Sink.name (the journal's cursor file is named after it); default "jsonl:<path>", so
   *  two file sinks never share a cursor */
  name?: string;
  /** Provider/Channel/Computer written in every line; default Linux-Sysmon on this host */
  identity?: Identity;
  /** rotate when the file would grow past this many bytes (0/undefined: no size rotation) */
  maxBytes?: number;
  /** rotate when the wall clock enters a new interval of this many ms, e.g. 86_400_000 for
   *  daily at 00:00 UTC (0/undefined: no time rotation) */
  rotateEveryMs?: number;
  /** rotated files kept (oldest deleted); default 10 */
  maxFiles?: number;
  /** rotated file names: 'numbered' (file.1 newest ... file.N, default) or 'timestamp'
   *  (file.20261129T180000Z, file.20261129T180000Z-1 on collision) */
  rotateNaming?: 'numbered' | 'timestamp';
  /** file mode of new files; default 0o640 */
  mode?: number;
  /** fdatasync after every batch before write() resolves; default false (written to the fd) */
  fsync?: boolean;
  /** skip events whose EventRecordID is <= the last one found in the file; default true */
  dedupe?: boolean;
  /** 'jsonl' (default): the record of docs/outputs.md; 'ecs': ECS-style fields (sinks/jsonl/ecs.ts) */
  format?: JsonlFormat;
  /** injectable clock for tests */
  now?: () => number;
}

export type JsonlFormat = 'jsonl' | 'ecs';

export interface ResolvedJsonlFileOptions {
  identity: Identity;
  maxBytes: number;
  rotateEveryMs: number;
  maxFiles: number;
  rotateNaming: 'numbered' | 'timestamp';
  mode: number;
  fsync: boolean;
  dedupe: boolean;
  format: JsonlFormat;
  now: () => number;
}

export function defaultIdentity(): Identity {
  return makeIdentity(false, hostname());
}

export function resolveFileOptions(o: JsonlFileOptions = {}): ResolvedJsonlFileOptions {
  const r: ResolvedJsonlFileOptions = {
    identity: o.identity ?? defaultIdentity(),
    maxBytes: o.maxBytes ?? 0,
    rotateEveryMs: o.rotateEveryMs ?? 0,
    maxFiles: o.maxFiles ?? 10,
    rotateNaming: o.rotateNaming ?? 'numbered',
    mode: o.mode ?? 0o640,
    fsync: o.fsync ?? false,
    dedupe: o.dedupe ?? true,
    format: o.format ?? 'jsonl',
    now: o.now ?? Date.now,
  };
  if (!(r.maxBytes >= 0) || !(r.rotateEveryMs >= 0)) throw new Error('jsonl: maxBytes and rotateEveryMs must be >= 0');
  if (!Number.isInteger(r.maxFiles) || r.maxFiles < 1) throw new Error('jsonl: maxFiles must be an integer >= 1');
  return r;
}

/** The line encoder for a format. */
export function lineEncoder(format: JsonlFormat = 'jsonl'): (ev: SysmonEvent, who: Identity) => string {
  if (format === 'jsonl') return encodeJsonl;
  if (format === 'ecs') return encodeEcs;
  throw new Error(`jsonl: unknown format ${String(format)}`);
}

/**
 * Writes one event's line into a batch buffer: (ev, out, off) -> the end offset, or -1 when
 * out has too little room from off (the caller grows it and calls again).
 */
export type LineWriter = (ev: SysmonEvent, out: Buffer, off: number) => number;

/** The line writer for a format and identity: JSONL straight into the bytes, ECS through its text. */
export function lineWriter(format: JsonlFormat, who: Identity): LineWriter {
  if (format === 'jsonl') return jsonlLineWriter(who);
  const encode = lineEncoder(format);
  return (ev, out, off) => {
    const line = encode(ev, who);
    return out.length - off < 3 * line.length ? -1 : off + out.write(line, off, 'utf8');
  };
}
