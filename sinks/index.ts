// Every sink kind, and building one from a spec. A new sink is a folder under sinks/ whose
// kind.ts declares a SinkKind, plus one line in SINK_KINDS.
//
// Spec forms:
//   KIND:WHERE[?name=value&...]   jsonl:/var/log/x.jsonl?max-mb=100, evtx:PATH, jsonl:-, etw, console
//   SCHEME://...                  tcp://h:514, tls://h:6514?ca=F, unix:///dev/log, relp://h:2514 (the kind owning the scheme)
//   syslog:SCHEME://... , syslog+SCHEME://...   the same, as the older flags and syslog tools write them
import { consoleSink } from './console/kind.js';
import { etwSink } from './eventlog/kind.js';
import { evtxSink } from './evtx/kind.js';
import { jsonlSink } from './jsonl/kind.js';
import { relpSink } from './relp/kind.js';
import type { Sink, SinkContext, SinkKind } from './sink.js';
import { syslogSink } from './syslog/kind.js';

export type { Sink, SinkContext, SinkKind } from './sink.js';

export const SINK_KINDS: readonly SinkKind[] = [jsonlSink, evtxSink, syslogSink, relpSink, etwSink, consoleSink];

export interface ParsedSinkSpec {
  kind: SinkKind;
  /** the path or URL the sink is built on (a URL keeps its own ?query) */
  where: string;
  options: Map<string, string>;
}

export function parseSinkSpec(spec: string, kinds: readonly SinkKind[] = SINK_KINDS): ParsedSinkSpec {
  const url = /^(?:syslog:|syslog\+)?([a-z][a-z0-9]*):\/\//i.exec(spec);
  if (url) {
    const scheme = url[1]!.toLowerCase();
    const kind = kinds.find((k) => k.schemes?.includes(scheme));
    if (!kind) throw new Error(`sink "${spec}": no sink takes ${scheme}:// URLs (${allSchemes(kinds)})`);
    return { kind, where: spec.slice(url[0].length - `${url[1]}://`.length), options: new Map() };
  }
  const colon = spec.indexOf(':');
  const name = colon < 0 ? spec : spec.slice(0, colon);
  const kind = kinds.find((k) => k.kind === name);
  if (!kind) throw new Error(`unknown sink "${spec}": ${sinkUsage(kinds)}`);
  let where = colon < 0 ? '' : spec.slice(colon + 1);
  const options = new Map<string, string>();
  const q = where.indexOf('?');
  if (q >= 0 && Object.keys(kind.options).length > 0) {
    for (const [k, v] of new URLSearchParams(where.slice(q + 1))) {
      if (!(k in kind.options)) throw new Error(`sink "${spec}": ${kind.kind} has no option "${k}" (${Object.keys(kind.options).join(', ')})`);
      options.set(k, v);
    }
    where = where.slice(0, q);
  }
  return { kind, where, options };
}

/** Builds the sink a spec names; options the spec leaves out come from ctx.defaults[kind]. */
export function sinkFromSpec(spec: string, ctx: SinkContext): Sink {
  return buildSink(parseSinkSpec(spec), ctx);
}

export function buildSink(p: ParsedSinkSpec, ctx: SinkContext): Sink {
  const options = new Map(Object.entries(ctx.defaults?.[p.kind.kind] ?? {}));
  for (const [k, v] of p.options) options.set(k, v);
  return p.kind.create(p.where, options, ctx);
}

/** A kind by name with WHERE taken whole (a path may hold a '?'): what the older flags build. */
export function sinkOf(kind: string, where: string): ParsedSinkSpec {
  const k = SINK_KINDS.find((x) => x.kind === kind);
  if (!k) throw new Error(`unknown sink kind ${kind}`);
  return { kind: k, where, options: new Map() };
}

/** The file a parsed spec writes, if any (for path checks before the agent starts). */
export function sinkOutputPath(p: ParsedSinkSpec): string | null {
  return p.kind.outputPath?.(p.where) ?? null;
}

export function sinkUsage(kinds: readonly SinkKind[] = SINK_KINDS): string {
  return kinds.map((k) => k.usage).join('; ');
}

function allSchemes(kinds: readonly SinkKind[]): string {
  return kinds.flatMap((k) => (k.schemes ?? []).map((s) => `${s}://`)).join(', ');
}
