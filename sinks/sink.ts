// The one interface every sink implements (Vector-style: config + encoder + this).
// The journal fan-out calls write() with batches in EventRecordID order and advances the
// sink's durable cursor only after write() resolves, so write() must resolve only once the
// batch is delivered (written and flushed, sent and accepted), and reject to ask for a retry.
import type { SysmonEvent } from '../src/events/event.js';

export interface Sink {
  /** short stable name, used for its cursor file and stats ("jsonl", "syslog", ...) */
  readonly name: string;
  open(): Promise<void>;
  write(batch: readonly SysmonEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** What every sink kind gets when it is built from a spec. */
export interface SinkContext {
  /** Provider/Channel/Computer of the events written (Linux-Sysmon or Windows Sysmon's) */
  identity: import('../src/events/event.js').Identity;
  /** option values given by the command line's per-kind flags (--jsonl-max-mb ...): a spec's own ?options win */
  defaults?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/**
 * A kind of sink, as each sinks/<name>/ declares it (sinks/index.ts lists them): how a spec
 * names it, which ?options it takes, and how it is built. `--sink SPEC` builds any of them.
 */
export interface SinkKind {
  /** `KIND:WHERE` picks this kind (jsonl:PATH, evtx:PATH, etw, console) */
  readonly kind: string;
  /** URL schemes that pick this kind without a `KIND:` prefix (tcp://..., relp://...) */
  readonly schemes?: readonly string[];
  /** the spec forms, for --help and errors */
  readonly usage: string;
  /** the ?name=value options it accepts (after WHERE); others are refused */
  readonly options: Readonly<Record<string, string>>;
  /** the file it writes, when it writes one (the CLI checks the path before the agent starts) */
  outputPath?(where: string): string | null;
  create(where: string, options: ReadonlyMap<string, string>, ctx: SinkContext): Sink;
}
