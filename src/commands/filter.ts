// `sysmon-ts filter -c CONFIG [IN.jsonl]`: apply a Sysmon config to recorded JSONL events and
// write the kept ones (RuleName filled, FieldSizes applied) to `out`, re-encoded with
// encodeJsonl and the identity (Provider, Channel, Computer) of each input line.
// `--explain` writes one line per event to `err`: decision, RuleName, deciding block/filter.
// Malformed lines are counted and reported on `err` with their line number; processing goes on.
// Exit status: 0 ok, 1 some lines were malformed, 2 the config (or input) could not be read.
import { openInput, readJsonlLines } from './jsonl-input.js';
import { encodeJsonl, eventFromJson } from '../../sinks/shared/jsonl-encode.js';
import { LINUX_IDENTITY, WINDOWS_IDENTITY, type Identity } from '../events/event.js';
import { ConfigError, loadConfigFile, type Explanation } from '../config/index.js';
import { finishEvent } from '../config/engine.js';

export interface FilterOptions {
  config: string;
  /** compare as Windows Sysmon does (Unicode case folding, _wcsicmp order) instead of Sysmon for Linux */
  windows?: boolean;
  /** sysmon-ts extension: the `image` condition also matches the part after the last `/` */
  imageBasename?: boolean;
  /** input JSONL file; stdin when absent or '-' */
  input?: string;
  explain?: boolean;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  /** stdin replacement for tests */
  stdin?: NodeJS.ReadableStream;
}

export interface FilterStats {
  read: number;
  kept: number;
  dropped: number;
  malformed: number;
}

function identityOf(o: Record<string, unknown>): Identity {
  const provider = typeof o.Provider === 'string' ? o.Provider : LINUX_IDENTITY.provider;
  const base = provider === WINDOWS_IDENTITY.provider ? WINDOWS_IDENTITY : LINUX_IDENTITY;
  return {
    provider,
    providerGuid: base.providerGuid,
    channel: typeof o.Channel === 'string' ? o.Channel : base.channel,
    computer: typeof o.Computer === 'string' ? o.Computer : '',
  };
}

/** One human line for --explain. */
export function explainLine(line: number, id: number, x: Explanation): string {
  let s = `line ${line}: EventID ${id} ${x.keep ? 'KEEP' : 'DROP'} RuleName=${JSON.stringify(x.ruleName)} by ${x.decidedBy}`;
  if (x.block)
    s += `; block <${x.block.tag} onmatch="${x.block.onmatch}"> line ${x.block.line} (${x.block.combine.toUpperCase()}${x.block.groupName ? `, RuleGroup ${JSON.stringify(x.block.groupName)}` : ''})`;
  if (x.filter) {
    const rule = x.filter.ruleIndex >= 0 ? x.block?.rules[x.filter.ruleIndex] : undefined;
    if (rule) s += `; rule <Rule${rule.name ? ` name=${JSON.stringify(rule.name)}` : ''} groupRelation="${rule.combine}"> line ${rule.line}`;
    s += `; filter <${x.filter.field} condition="${x.filter.condition}"> ${JSON.stringify(x.filter.value)} line ${x.filter.line}${x.filter.name ? ` name=${JSON.stringify(x.filter.name)}` : ''}`;
  }
  if (x.blocksEvaluated) s += `; ${x.blocksEvaluated} block(s) evaluated`;
  return s + '\n';
}

function write(out: NodeJS.WritableStream, text: string): Promise<void> | null {
  if (out.write(text)) return null;
  return new Promise((resolve) => out.once('drain', () => resolve()));
}

export async function runFilter(opts: FilterOptions): Promise<number> {
  const { out, err } = opts;
  let config;
  try {
    config = loadConfigFile(opts.config, { provider: opts.windows ? 'windows' : 'linux', imageBasename: opts.imageBasename === true });
  } catch (e) {
    err.write(`filter: ${e instanceof ConfigError ? e.message : String(e)}\n`);
    return 2;
  }
  for (const w of config.warnings) err.write(`filter: ${w}\n`);
  for (const n of config.notices) err.write(`filter: note: ${n}\n`);
  const engine = config.engine;
  const sizes = config.options.fieldSizes;
  let input: NodeJS.ReadableStream;
  if (opts.input && opts.input !== '-') {
    try {
      input = await openInput(opts.input);
    } catch (e) {
      err.write(`filter: ${(e as Error).message}\n`);
      return 2;
    }
  } else {
    input = opts.stdin ?? process.stdin;
  }
  const stats: FilterStats = { read: 0, kept: 0, dropped: 0, malformed: 0 };
  for await (const item of readJsonlLines(input)) {
    const lineNo = item.line;
    let ev;
    try {
      if ('error' in item) throw new Error(item.error);
      ev = eventFromJson(item.value);
    } catch (e) {
      stats.malformed++;
      err.write(`filter: line ${lineNo}: malformed event: ${e instanceof Error ? e.message : String(e)}\n`);
      continue;
    }
    stats.read++;
    let decision;
    if (opts.explain) {
      const x = engine.explain(ev);
      err.write(explainLine(lineNo, ev.id, x));
      decision = x;
    } else {
      decision = engine.evaluate(ev);
    }
    if (!decision.keep) {
      stats.dropped++;
      continue;
    }
    finishEvent(ev, decision.ruleName, sizes);
    stats.kept++;
    const p = write(out, encodeJsonl(ev, identityOf(item.value)));
    if (p) await p;
  }
  err.write(`filter: ${stats.read} events, ${stats.kept} kept, ${stats.dropped} dropped, ${stats.malformed} malformed line(s)\n`);
  return stats.malformed > 0 ? 1 : 0;
}
