// Builds sinks from command-line specs, for `run` (--jsonl/--evtx/--syslog) and `replay --sink`.
// Spec forms: "jsonl:PATH" | "jsonl:-" | "evtx:PATH" | "syslog:URL" (udp://, tcp://, tls://, unix:///dev/log,
// and relp:// or relps:// for acknowledged delivery to rsyslog's imrelp).
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Identity } from './events/event.js';
import { createJsonlFileSink, createStdoutSink } from '../sinks/jsonl/index.js';
import { createEvtxSink } from '../sinks/evtx/writer.js';
import { createSyslogSink } from '../sinks/syslog/index.js';
import { createRelpSink, isRelpUrl } from '../sinks/relp/index.js';
import type { Sink } from '../sinks/sink.js';

export interface SinkSpecOptions {
  identity: Identity;
  jsonlMaxBytes?: number;
  /** rotate the JSONL file at each interval (ms; 0: never) */
  jsonlRotateEveryMs?: number;
  jsonlMaxFiles?: number;
  /** 'jsonl' (Sysmon fields, the default) or 'ecs' (Elastic Common Schema names) */
  jsonlFormat?: 'jsonl' | 'ecs';
  evtxMaxBytes?: number;
  /** undefined: the URL's ?format= or the sink's default (the Event XML) */
  syslogFormat?: 'xml' | 'json';
}

export function sinkFromSpec(spec: string, o: SinkSpecOptions): Sink {
  const colon = spec.indexOf(':');
  if (colon < 0) throw new Error(`sink "${spec}" must be jsonl:PATH, evtx:PATH or syslog:URL`);
  const kind = spec.slice(0, colon);
  const where = spec.slice(colon + 1);
  switch (kind) {
    case 'jsonl':
      if (where === '-') return createStdoutSink({ identity: o.identity, format: o.jsonlFormat });
      // the sink itself refuses symlinked directories; only create a missing parent here
      if (!existsSync(dirname(resolve(where)))) mkdirSync(dirname(resolve(where)), { recursive: true, mode: 0o750 });
      return createJsonlFileSink(resolve(where), {
        identity: o.identity, maxBytes: o.jsonlMaxBytes, rotateEveryMs: o.jsonlRotateEveryMs, maxFiles: o.jsonlMaxFiles, format: o.jsonlFormat,
      });
    case 'evtx':
      if (!existsSync(dirname(resolve(where)))) mkdirSync(dirname(resolve(where)), { recursive: true, mode: 0o750 });
      return createEvtxSink(resolve(where), { identity: o.identity, maxBytes: o.evtxMaxBytes });
    case 'syslog':
      if (isRelpUrl(where)) {
        return createRelpSink(where, { identity: o.identity, format: o.syslogFormat, dialect: o.identity.provider === 'Linux-Sysmon' ? 'linux' : 'windows' });
      }
      return createSyslogSink(where, { identity: o.identity, format: o.syslogFormat, dialect: o.identity.provider === 'Linux-Sysmon' ? 'linux' : 'windows' });
    default:
      throw new Error(`unknown sink kind "${kind}" in "${spec}" (jsonl, evtx, syslog)`);
  }
}
