#!/usr/bin/env -S npx tsx
// sysmon-ts command line. Sysmon's switches keep their meaning (-s, -c, -i, -u, -m);
// `run` is the monitor. From a checkout: `npx tsx src/cli.ts ARGS`.
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pino from 'pino';
import { Agent } from './agent.js';
import { loadConfigFile } from './config/index.js';
import { makeIdentity } from './events/event.js';
import { computerName } from './events/host.js';
import { renderSchema } from './commands/schema.js';
import { BUNDLED_CONFIG, DEFAULT_JSONL, DRIVER_OBJECTS, JOURNAL_DIR, STATE_FILE } from './paths.js';
import { createJsonlFileSink, createStdoutSink } from '../sinks/jsonl/index.js';
import { createConsoleSink } from '../sinks/console/index.js';
import type { Sink } from '../sinks/sink.js';
import type { FsyncPolicy } from './journal/index.js';

interface RunArgs {
  config?: string;
  jsonl?: string;
  journal: string;
  console?: boolean;
  windows: boolean;
  fsync: string;
  'ring-mb': number;
  'journal-max-mb': number;
  'jsonl-max-mb': number;
  'stats-every': number;
}

export class UsageError extends Error {}

function preflight(): void {
  if (process.getuid?.() !== 0) throw new UsageError('sysmon-ts run needs root: it loads eBPF programs into the kernel (try: sudo npm start)');
  if (!existsSync('/sys/kernel/btf/vmlinux')) throw new UsageError('this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): the CO-RE driver cannot load');
  for (const obj of DRIVER_OBJECTS) {
    if (!existsSync(obj)) throw new UsageError(`driver object ${obj} is missing: build it with "make -C driver/linux" (npm start does it for you)`);
  }
}

async function run(args: RunArgs): Promise<void> {
  preflight();
  const logger = pino({ level: process.env.SYSMON_TS_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const identity = makeIdentity(args.windows, computerName());
  const sinks: Sink[] = [];
  const jsonl = args.jsonl ?? DEFAULT_JSONL;
  let fileSink: ReturnType<typeof createJsonlFileSink> | null = null;
  if (jsonl === '-') {
    sinks.push(createStdoutSink({ identity }));
  } else if (jsonl !== 'off') {
    mkdirSync(dirname(resolve(jsonl)), { recursive: true });
    fileSink = createJsonlFileSink(resolve(jsonl), { identity, maxBytes: args['jsonl-max-mb'] * 1024 * 1024 });
    sinks.push(fileSink);
  }
  const showConsole = args.console ?? (jsonl !== '-' && process.stderr.isTTY === true);
  if (showConsole) sinks.push(createConsoleSink(process.stderr));

  const configPath = args.config ? resolve(args.config) : undefined;
  const agent = new Agent({
    configPath,
    journalDir: resolve(args.journal),
    journalFsync: args.fsync as FsyncPolicy,
    journalMaxBytes: args['journal-max-mb'] * 1024 * 1024,
    objects: DRIVER_OBJECTS,
    identity,
    sinks,
    liveOnlySinks: new Set(['console']),
    logger,
    ringBytes: args['ring-mb'] * 1024 * 1024,
    statsEveryMs: args['stats-every'] * 1000,
  });
  await agent.start();
  writeState({ pid: process.pid, config: configPath ?? null, journal: resolve(args.journal), jsonl: jsonl === '-' ? null : resolve(jsonl) });
  if (jsonl !== '-' && jsonl !== 'off') process.stderr.write(`sysmon-ts: monitoring; events -> ${resolve(jsonl)} (Ctrl-C stops)\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    agent.stop().then(() => {
      clearState();
      process.exit(0);
    }, (err) => {
      logger.error({ err }, 'error while stopping');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    agent.reloadConfig(readState()?.config ?? configPath);
    void fileSink?.reopen();
  });
}

interface AgentState { pid: number; config: string | null; journal: string; jsonl: string | null }

function writeState(s: AgentState): void {
  try {
    mkdirSync(dirname(STATE_FILE), { recursive: true });
    writeFileSync(STATE_FILE, JSON.stringify(s));
  } catch { /* not fatal: only -c and status need it */ }
}

function readState(): AgentState | null {
  try {
    return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as AgentState;
  } catch {
    return null;
  }
}

function clearState(): void {
  const s = readState();
  if (s && s.pid === process.pid) rmSync(STATE_FILE, { force: true });
}

function isRunning(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** `-c FILE`: check the file, point the running agent at it and make it reload (SIGHUP). */
function updateConfig(file: string | undefined): void {
  const state = readState();
  if (file === undefined || file === '') {
    const path = state?.config ?? undefined;
    const config = path ? loadConfigFile(path) : loadConfigFile(BUNDLED_CONFIG);
    process.stdout.write(`${config.describe()}\n`);
    return;
  }
  const config = loadConfigFile(resolve(file)); // throws ConfigError naming file and line
  if (!state || !isRunning(state.pid)) {
    process.stdout.write(`${resolve(file)} is valid (${config.capturedEvents().size} event types logged); no running sysmon-ts to update\n`);
    return;
  }
  writeState({ ...state, config: resolve(file) });
  process.kill(state.pid, 'SIGHUP');
  process.stdout.write(`Configuration updated: sysmon-ts (pid ${state.pid}) now uses ${resolve(file)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const y = yargs(argv)
    .scriptName('sysmon-ts')
    .usage('$0 [run] [options]    live monitoring (root)\n$0 -s [VERSION|all]    print the schema\n$0 -c [FILE]           update the running config / print it')
    .command<RunArgs>(['run'], 'run the monitor', (c) => c
      .option('config', { alias: 'c', type: 'string', describe: 'Sysmon XML config (default: the bundled src/config/default.xml)' })
      .option('jsonl', { type: 'string', describe: `JSONL output file, "-" for stdout, "off" for none (default ${DEFAULT_JSONL})` })
      .option('journal', { type: 'string', default: JOURNAL_DIR, describe: 'journal directory' })
      .option('journal-max-mb', { type: 'number', default: 1024, describe: 'journal retention by size' })
      .option('jsonl-max-mb', { type: 'number', default: 0, describe: 'rotate the JSONL file at this size (0: never)' })
      .option('fsync', { type: 'string', default: 'group', choices: ['group', 'always', 'never'], describe: 'journal fsync policy' })
      .option('console', { type: 'boolean', describe: 'show a line per event on stderr (default: when stderr is a terminal)' })
      .option('windows', { type: 'boolean', default: false, describe: "write Windows Sysmon's provider and channel instead of Linux-Sysmon's" })
      .option('ring-mb', { type: 'number', default: 16, describe: 'kernel ring buffer size in MiB (power of two)' })
      .option('stats-every', { type: 'number', default: 60, describe: 'seconds between stats lines in the agent log (0: never)' }),
    async (a) => { await run({ ...a, config: a.config ?? BUNDLED_CONFIG }); })
    .command('filter [input]', 'apply a config to recorded JSONL events; kept ones (RuleName filled) go to stdout', (c) => c
      .positional('input', { type: 'string', describe: 'JSONL file (default stdin)' })
      .option('config', { alias: 'c', type: 'string', demandOption: true })
      .option('explain', { type: 'boolean', default: false, describe: 'print each decision and what decided it (stderr)' }),
    async (a) => {
      const { runFilter } = await import('./commands/filter.js');
      process.exitCode = await runFilter({ config: a.config, input: a.input, explain: a.explain, out: process.stdout, err: process.stderr });
    })
    .command('convert <input> <output>', 'convert between .jsonl, .evtx and .xml (by extension)', (c) => c
      .positional('input', { type: 'string', demandOption: true })
      .positional('output', { type: 'string', demandOption: true }),
    async (a) => {
      const { runConvert } = await import('./commands/convert.js');
      const r = await runConvert(a.input, a.output);
      process.stderr.write(`${JSON.stringify(r)}\n`);
    })
    .command('view [file]', 'human-readable view of JSONL or EVTX events', (c) => c
      .positional('file', { type: 'string', describe: 'default: the JSONL file of the running agent' }),
    async (a) => {
      const { runView } = await import('./commands/view.js');
      const file = a.file ?? readState()?.jsonl ?? DEFAULT_JSONL;
      process.exitCode = await runView(file);
    })
    .option('s', { type: 'string', describe: 'print the schema (VERSION or all)' })
    .option('c', { type: 'string', describe: 'update the running config (FILE), or print it (no FILE)' })
    .strictCommands()
    .help('h').alias('h', 'help')
    .version(false)
    .fail((msg, err) => { throw err ?? new UsageError(msg); });

  const parsed = await y.parseAsync();
  const cmd = parsed._[0];
  if (cmd === undefined) {
    if (parsed.s !== undefined) {
      process.stdout.write(renderSchema(parsed.s === '' ? undefined : parsed.s));
    } else if (parsed.c !== undefined) {
      updateConfig(parsed.c);
    } else {
      await run({ config: BUNDLED_CONFIG, journal: JOURNAL_DIR, windows: false, fsync: 'group', 'ring-mb': 16, 'journal-max-mb': 1024, 'jsonl-max-mb': 0, 'stats-every': 60 });
    }
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

const invoked = process.argv[1] ? resolve(process.argv[1]) : '';
if (invoked.endsWith('cli.ts') || invoked.endsWith('bin.js')) {
  main(hideBin(process.argv)).catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`sysmon-ts: ${msg}\n`);
    process.exit(2);
  });
}
