#!/usr/bin/env -S npx tsx
// sysmon-ts command line. Sysmon's switches keep their meaning (-s, -c, -i, -u, -m);
// `run` is the monitor. From a checkout: `npx tsx src/cli.ts ARGS`.
// first: its evaluation marks when node and the module graph's load ended (src/startup-phases.ts)
import { startupPhases } from './startup-phases.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import pino from 'pino';
import { Agent } from './agent.js';
import { loadConfigFile } from './config/index.js';
import { makeIdentity } from './events/event.js';
import { computerName } from './events/host.js';
import { renderSchema, SchemaVersionError } from './commands/schema.js';
import { BUNDLED_CONFIG, DEFAULT_JSONL, JOURNAL_DIR } from './paths.js';
import { createConsoleSink } from '../sinks/console/index.js';
import { buildSink, parseSinkSpec, sinkFromSpec, sinkOf, sinkOutputPath, sinkUsage, type ParsedSinkSpec, type SinkContext } from '../sinks/index.js';
import { checkConfigFile, checkOutputPath, ensurePrivateDir, uncheckedNotice } from './file-permissions.js';
import { explainDriverOpenError, preflight } from './commands/preflight.js';
import { requestReload } from './commands/reload.js';
import { cliPlatform } from './platform-paths.js';
import { clearState, isRunning, readState, startStatsWriter, writeState } from './commands/status.js';
import { installConfig, installedConfig, isInstalledConfig } from './commands/install.js';
import type { Sink } from '../sinks/sink.js';
import type { FsyncPolicy } from './journal/index.js';

interface RunArgs {
  config?: string;
  jsonl?: string;
  evtx?: string;
  syslog?: string;
  sink?: string[];
  'syslog-format'?: string;
  'jsonl-format'?: string;
  'jsonl-rotate-hours'?: number;
  'jsonl-max-files'?: number;
  'evtx-max-mb'?: number;
  journal: string;
  console?: boolean;
  windows: boolean;
  'image-basename'?: boolean;
  fsync: string;
  'ring-mb': number;
  'journal-max-mb': number;
  'jsonl-max-mb': number;
  'stats-every': number;
  'poll-ms': number;
  'kernel-filter': boolean;
  'exit-with-parent'?: boolean;
  'stop-on-stdin-close'?: boolean;
  'ring-section'?: string;
}

export class UsageError extends Error {}

async function run(args: RunArgs): Promise<void> {
  // the families' list loads every family's handlers: only the commands that capture need it
  const { DRIVER_OBJECTS } = await import('./driver-objects.js');
  startupPhases.mark('modulesAndArgs');
  preflight(DRIVER_OBJECTS);
  const logger = pino({ level: process.env.SYSMON_TS_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const notice = uncheckedNotice();
  if (notice) logger.warn(notice);
  const identity = makeIdentity(args.windows, computerName());
  const sinks: Sink[] = [];
  const extra = args.sink ?? [];
  // --sink replaces the default JSONL file; --jsonl (or the default when neither is given) adds it
  const jsonl = args.jsonl ?? (extra.length > 0 ? 'off' : DEFAULT_JSONL);
  const syslogFormat: Record<string, string> = args['syslog-format'] ? { format: args['syslog-format'] } : {};
  const ctx: SinkContext = {
    identity,
    // the per-kind flags are the defaults of every sink of that kind; a spec's own ?options win
    defaults: {
      jsonl: {
        'max-mb': String(args['jsonl-max-mb']),
        'rotate-hours': String(args['jsonl-rotate-hours'] ?? 0),
        ...(args['jsonl-max-files'] !== undefined ? { 'max-files': String(args['jsonl-max-files']) } : {}),
        format: args['jsonl-format'] ?? 'jsonl',
      },
      evtx: { 'max-mb': String(args['evtx-max-mb'] ?? 64) },
      syslog: syslogFormat,
      relp: syslogFormat,
    },
  };
  // the older flags are aliases of jsonl:PATH, evtx:PATH and a syslog URL (their paths taken whole, even with a '?')
  const specs: ParsedSinkSpec[] = [];
  if (jsonl !== 'off') specs.push(sinkOf('jsonl', jsonl));
  if (args.evtx) specs.push(sinkOf('evtx', args.evtx));
  if (args.syslog) specs.push(parseSinkSpec(args.syslog.includes('://') ? args.syslog : `syslog:${args.syslog}`));
  for (const spec of extra) specs.push(parseSinkSpec(spec));
  for (const p of specs) sinks.push(buildSink(p, ctx));
  const stdoutTaken = specs.some((p) => (p.kind.kind === 'jsonl' && p.where === '-') || (p.kind.kind === 'console' && p.where === 'stdout'));
  const reopenable = sinks.filter((s): s is Sink & { reopen(): Promise<void> } => typeof (s as { reopen?: unknown }).reopen === 'function');
  const showConsole = args.console ?? (!stdoutTaken && !specs.some((p) => p.kind.kind === 'console') && process.stderr.isTTY === true);
  if (showConsole) sinks.push(createConsoleSink(process.stderr));

  const configPath = args.config ? resolve(args.config) : undefined;
  for (const p of specs) {
    const path = sinkOutputPath(p);
    if (path) checkOutputPath(path);
  }
  ensurePrivateDir(args.journal, 'journal');
  startupPhases.mark('sinksBuilt');
  const agent = new Agent({
    checkConfig: (p) => checkConfigFile(p),
    configPath,
    journalDir: resolve(args.journal),
    journalFsync: args.fsync as FsyncPolicy,
    journalMaxBytes: args['journal-max-mb'] * 1024 * 1024,
    objects: DRIVER_OBJECTS,
    identity,
    matching: { provider: args.windows ? 'windows' : 'linux', imageBasename: args['image-basename'] === true },
    sinks,
    liveOnlySinks: new Set(['console']),
    logger,
    ringBytes: args['ring-mb'] * 1024 * 1024,
    ringSection: args['ring-section'],
    statsEveryMs: args['stats-every'] * 1000,
    pollMs: args['poll-ms'],
    kernelFilter: args['kernel-filter'],
  });
  try {
    await agent.start();
  } catch (err) {
    throw explainDriverOpenError(err);
  }
  // `view` and `status` read the first JSONL file written
  const jsonlFile = specs.map((p) => (p.kind.kind === 'jsonl' ? sinkOutputPath(p) : null)).find((x) => x) ?? null;
  writeState({ pid: process.pid, config: configPath ?? null, journal: resolve(args.journal), jsonl: jsonlFile });
  startStatsWriter(agent);
  const outputs = specs
    .filter((p) => p.kind.kind !== 'console' && !(p.kind.kind === 'jsonl' && p.where === '-'))
    .map((p) => sinkOutputPath(p) ?? (p.where || p.kind.kind));
  startupPhases.mark('stateWritten');
  logger.debug({ startupMs: startupPhases.phases, totalMs: startupPhases.totalMs }, 'startup phases');
  if (!stdoutTaken) process.stderr.write(`sysmon-ts: monitoring; events -> ${outputs.length ? outputs.join(', ') : 'the journal only'} (Ctrl-C stops)\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    agent.stop().then(
      () => {
        clearState();
        process.exit(0);
      },
      (err) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  if (args['exit-with-parent']) {
    // tests and supervisors that cannot send a signal when they die: reparenting means the
    // parent is gone, so stop cleanly instead of running on as an orphan
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('parent exited');
    }, 500).unref();
  }
  if (args['stop-on-stdin-close']) {
    // Windows has no SIGTERM: the service host (driver/windows/service) closes our stdin instead
    process.stdin.on('end', () => stop('standard input closed'));
    process.stdin.on('error', () => stop('standard input failed'));
    process.stdin.resume();
  }
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    agent.reloadConfig(readState()?.config ?? configPath);
    for (const s of reopenable) void s.reopen();
  });
}

/** `-c FILE`: check the file, point the running agent at it and make it reload (SIGHUP). */
function updateConfig(file: string | undefined): void {
  const state = readState();
  if (file === undefined || file === '') {
    const installed = installedConfig().config;
    const path = (state && isRunning(state.pid) ? state.config : null) ?? (existsSync(installed) ? installed : undefined);
    const config = path ? loadConfigFile(path) : loadConfigFile(BUNDLED_CONFIG);
    process.stdout.write(`${config.describe()}\n`);
    return;
  }
  const running = state !== null && isRunning(state.pid);
  const inst = installedConfig();
  if ((running && isInstalledConfig(state.config)) || (!running && existsSync(inst.config))) {
    for (const w of installConfig(file, inst)) process.stderr.write(`${w}\n`);
    const reload = running ? requestReload(state.pid) : null;
    process.stdout.write(
      !reload
        ? `Configuration updated: ${inst.config} replaced by ${resolve(file)}; used when the service starts\n`
        : reload.signalled
          ? `Configuration updated: ${inst.config} replaced by ${resolve(file)}; sysmon-ts (pid ${state?.pid}) reloads it\n`
          : `Configuration updated: ${inst.config} replaced by ${resolve(file)}; ${reload.howTo}\n`,
    );
    return;
  }
  const config = loadConfigFile(resolve(file)); // throws ConfigError naming file and line
  for (const w of config.warnings) process.stderr.write(`${w}\n`);
  checkConfigFile(resolve(file));
  if (!state || !isRunning(state.pid)) {
    process.stdout.write(`${resolve(file)} is valid (${config.capturedEvents().size} event types logged); no running sysmon-ts to update\n`);
    return;
  }
  // Linux: the agent reads the new path from the state file on SIGHUP. Windows cannot signal it,
  // and the state must keep naming the config actually in force (status shows it)
  if (cliPlatform() !== 'win32') writeState({ ...state, config: resolve(file) });
  const reload = requestReload(state.pid);
  process.stdout.write(
    reload.signalled ? `Configuration updated: sysmon-ts (pid ${state.pid}) now uses ${resolve(file)}\n` : `${resolve(file)} is valid; ${reload.howTo}\n`,
  );
}

/**
 * yargs renders the whole --help text before it runs a command's handler (cached for a showHelp()
 * inside an async handler, which sysmon-ts never calls): 20-50 ms of every `run` start on this
 * VM (string widths of every option). --help and usage errors render their text as before.
 * Reaches into yargs's internals, so it does nothing if they change shape.
 */
function skipHelpRendering(y: unknown): void {
  const usage = (y as { getInternalMethods?(): { getUsageInstance?(): { cacheHelpMessage?: unknown } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

export async function main(argv: string[]): Promise<number> {
  argv = argv.filter((a) => !/^--?(accepteula|nologo)$/i.test(a)); // Sysmon's, accepted and ignored
  const y = yargs(argv)
    .scriptName('sysmon-ts')
    .usage('$0 [run] [options]    live monitoring (root)\n$0 -s [VERSION|all]    print the schema\n$0 -c [FILE]           update the running config / print it')
    .command<RunArgs>(
      ['run'],
      'run the monitor',
      (c) =>
        c
          .option('config', { alias: 'c', type: 'string', describe: 'Sysmon XML config (default: the bundled src/config/default.xml)' })
          .option('jsonl', { type: 'string', describe: `JSONL output file, "-" for stdout, "off" for none (default ${DEFAULT_JSONL})` })
          .option('evtx', { type: 'string', describe: 'also write a Windows Event Log (.evtx) file' })
          .option('evtx-max-mb', { type: 'number', default: 64, describe: 'rotate the EVTX file at this size' })
          .option('syslog', {
            type: 'string',
            describe:
              'also send to syslog: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT?ca=FILE, unix:///dev/log, relp://HOST:PORT (acknowledged, rsyslog imrelp)',
          })
          .option('sink', {
            type: 'string',
            array: true,
            describe: `an output, repeatable (replaces the default JSONL file unless --jsonl is given): ${sinkUsage()}`,
          })
          .option('syslog-format', {
            type: 'string',
            choices: ['xml', 'json'],
            describe: "payload: Sysmon for Linux's single-line Event XML (default), or the JSONL record",
          })
          .option('jsonl-format', {
            type: 'string',
            default: 'jsonl',
            choices: ['jsonl', 'ecs'],
            describe: 'JSONL with Sysmon field names, or Elastic Common Schema names',
          })
          .option('jsonl-rotate-hours', { type: 'number', default: 0, describe: 'also rotate the JSONL file every N hours (0: never)' })
          .option('jsonl-max-files', { type: 'number', default: 10, describe: 'rotated JSONL files kept' })
          .option('journal', { type: 'string', default: JOURNAL_DIR, describe: 'journal directory' })
          .option('journal-max-mb', { type: 'number', default: 1024, describe: 'journal retention by size' })
          .option('jsonl-max-mb', { type: 'number', default: 0, describe: 'rotate the JSONL file at this size (0: never)' })
          .option('fsync', { type: 'string', default: 'group', choices: ['group', 'always', 'never'], describe: 'journal fsync policy' })
          .option('console', { type: 'boolean', describe: 'show a line per event on stderr (default: when stderr is a terminal)' })
          .option('windows', {
            type: 'boolean',
            default: false,
            describe: "write Windows Sysmon's provider and channel instead of Linux-Sysmon's (and compare config values as Windows Sysmon does)",
          })
          .option('image-basename', {
            type: 'boolean',
            default: false,
            describe: 'the `image` condition also matches the part after the last / (docs/configuration.md)',
          })
          .option('ring-mb', { type: 'number', default: 16, describe: 'kernel ring buffer size in MiB (power of two)' })
          .option('ring-section', {
            type: 'string',
            hidden: true,
            describe: 'Windows: read the ring from this named section (a test harness or driver shim) instead of the driver',
          })
          .option('stop-on-stdin-close', {
            type: 'boolean',
            default: false,
            describe: 'stop cleanly when standard input closes (how the Windows service host stops the agent)',
          })
          .option('exit-with-parent', { type: 'boolean', default: false, hidden: true, describe: 'stop when the parent process exits (for tests)' })
          .option('stats-every', { type: 'number', default: 60, describe: 'seconds between stats lines in the agent log (0: never)' })
          .option('poll-ms', {
            type: 'number',
            default: 50,
            describe:
              'how long events may wait in the ring while events are arriving (ms, 1-1000): fewer, larger batches cost less CPU per event; after a read the config dropped entirely, twice that',
          })
          .option('kernel-filter', {
            type: 'boolean',
            default: true,
            describe: 'drop file events the config surely drops in the kernel (docs/kernel-filtering.md)',
          }),
      async (a) => {
        await run({ ...a, config: a.config ?? BUNDLED_CONFIG });
      },
    )
    .command(
      'filter [input]',
      'apply a config to recorded JSONL events; kept ones (RuleName filled) go to stdout',
      (c) =>
        c
          .positional('input', { type: 'string', describe: 'JSONL file (default stdin)' })
          .option('config', { alias: 'c', type: 'string', demandOption: true })
          .option('explain', { type: 'boolean', default: false, describe: 'print each decision and what decided it (stderr)' })
          .option('windows', { type: 'boolean', default: false, describe: 'compare values as Windows Sysmon does (default: as Sysmon for Linux)' })
          .option('image-basename', { type: 'boolean', default: false, describe: 'the `image` condition also matches the part after the last /' }),
      async (a) => {
        const { runFilter } = await import('./commands/filter.js');
        process.exitCode = await runFilter({
          config: a.config,
          input: a.input,
          explain: a.explain,
          windows: a.windows,
          imageBasename: a['image-basename'],
          out: process.stdout,
          err: process.stderr,
        });
      },
    )
    .command(
      'convert <input> <output>',
      'convert between .jsonl, .evtx and .xml (by extension)',
      (c) => c.positional('input', { type: 'string', demandOption: true }).positional('output', { type: 'string', demandOption: true }),
      async (a) => {
        const { runConvert } = await import('./commands/convert.js');
        const r = await runConvert(a.input, a.output);
        process.stderr.write(`${JSON.stringify(r)}\n`);
        if (r.malformed > 0 || r.damaged > 0) process.exitCode = 1; // something was skipped (each reported above)
      },
    )
    .command(
      'view [file]',
      'readable, filterable view of JSONL, EVTX or syslog Event XML ("-": stdin)',
      (c) =>
        c
          .positional('file', { type: 'string', describe: 'default: the JSONL file of the running agent' })
          .option('e', { alias: 'event', type: 'string', describe: 'event IDs to show, e.g. 1,3' })
          .option('r', { alias: 'records', type: 'string', describe: 'EventRecordID range MIN,MAX' })
          .option('t', { alias: 'time', type: 'string', describe: 'time range "FROM,TO" (UTC "YYYY-MM-DD HH:MM[:SS]" or ISO); either side may be empty' })
          .option('f', {
            alias: 'filter',
            type: 'string',
            array: true,
            describe: 'Field=value, Field~substring or Field!=value (case-insensitive; repeatable)',
          })
          .option('E', { alias: 'fields', type: 'string', describe: 'fields to show, e.g. Image,CommandLine' })
          .option('system', { type: 'boolean', default: false, describe: 'also show EventRecordID, TimeCreated, Computer' })
          .option('color', { type: 'boolean', describe: 'colour (default: when stdout is a terminal)' })
          .option('follow', { type: 'boolean', default: false, describe: 'keep reading as the file grows (JSONL, syslog)' }),
      async (a) => {
        const { runView, parseTime } = await import('./commands/view.js');
        const file = a.file || (argv.includes('-') ? '-' : null) || readState()?.jsonl || DEFAULT_JSONL; // yargs turns a lone "-" into ''
        const list = (s?: string) =>
          (s ?? '')
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean);
        const [r0, r1] = (a.r ?? '').split(',');
        const [t0, t1] = (a.t ?? '').split(',');
        const stats = { damaged: 0, malformed: 0, foreign: 0 };
        process.exitCode =
          (await runView(file, process.stdout, {
            ids: list(a.e).map(Number),
            filters: a.f,
            fields: list(a.E),
            system: a.system,
            follow: a.follow,
            stats,
            color: a.color ?? process.stdout.isTTY === true,
            minRecord: r0 ? Number(r0) : undefined,
            maxRecord: r1 ? Number(r1) : undefined,
            fromMs: t0?.trim() ? parseTime(t0) : undefined,
            toMs: t1?.trim() ? parseTime(t1) : undefined,
          })) > 0 && stats.damaged === 0
            ? 0
            : 1; // 1: nothing shown, or damaged records skipped (reported on stderr)
      },
    )
    .command(
      'replay',
      're-send a range of the journal to a sink (backfill)',
      (c) =>
        c
          .option('from', { type: 'number', demandOption: true, describe: 'first EventRecordID' })
          .option('to', { type: 'number', describe: 'last EventRecordID (default: the newest)' })
          .option('sink', { type: 'string', demandOption: true, describe: sinkUsage() })
          .option('journal', { type: 'string', default: JOURNAL_DIR })
          .option('windows', { type: 'boolean', default: false }),
      async (a) => {
        const { runReplay } = await import('./commands/replay.js');
        parseSinkSpec(a.sink); // a bad spec fails before the journal is opened
        const sink = sinkFromSpec(a.sink, { identity: makeIdentity(a.windows, computerName()) });
        const n = await runReplay({ journalDir: resolve(a.journal), from: a.from, to: a.to, sink });
        process.stderr.write(`replayed ${n} events\n`);
      },
    )
    .command(
      'record',
      'save raw kernel ring records to a file (for bench/ replay)',
      (c) => c.option('out', { type: 'string', demandOption: true }).option('seconds', { type: 'number', default: 10 }),
      async (a) => {
        const { record } = await import('./commands/record.js');
        process.stderr.write(
          `${JSON.stringify(await record({ out: resolve(a.out), seconds: a.seconds, objects: (await import('./driver-objects.js')).DRIVER_OBJECTS }))}\n`,
        );
      },
    )
    .command(
      'status',
      'running or not, config in force, events/s by ID, drops, sink lags, journal size',
      (c) =>
        c
          .option('journal', { type: 'string', describe: "journal directory (default: the running agent's)" })
          .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' }),
      async (a) => {
        const { runStatus } = await import('./commands/status.js');
        process.exitCode = await runStatus({ journal: a.journal, json: a.json });
      },
    )
    .option('s', { type: 'string', describe: 'print the schema as sysmon -s does (VERSION prefix, or all; with --windows: Windows Sysmon 4.91)' })
    .option('m', { type: 'boolean', describe: 'print the instrumentation manifest (with --windows: Windows Sysmon identity)' })
    .option('windows', { type: 'boolean', default: false, hidden: true })
    .option('c', { type: 'string', describe: 'update the running config (FILE), or print it (no FILE)' })
    .option('i', { type: 'string', describe: 'install and start the service (systemd; Windows: service + driver), with CONFIG (default: the bundled config)' })
    .option('u', { type: 'string', describe: 'stop and uninstall the service (keeps the journal and logs unless --purge)' })
    .option('purge', { type: 'boolean', default: false, describe: 'with -u: also delete the journal and logs' })
    .option('root', { type: 'string', describe: 'with -i/-u: install under this directory instead of / (env SYSMON_TS_ROOT)' })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'with -i/-u: print the install plan (systemd, or the Windows service and driver) and change nothing',
    })
    .strictCommands()
    .help('h')
    .alias('h', 'help')
    .version(false)
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });

  skipHelpRendering(y);
  const parsed = await y.parseAsync();
  const cmd = parsed._[0];
  if (cmd === undefined) {
    if (parsed.s !== undefined) {
      try {
        process.stdout.write(renderSchema(parsed.s === '' ? undefined : parsed.s, { windows: parsed.windows === true }));
      } catch (e) {
        if (!(e instanceof SchemaVersionError)) throw e;
        process.stderr.write(`${e.message}\n`);
        process.exitCode = 1;
      }
    } else if (parsed.m) {
      const { manifestFor } = await import('./commands/manifest.js');
      process.stdout.write(manifestFor(parsed.windows === true));
    } else if (parsed.i !== undefined || parsed.u !== undefined) {
      const ops = await import('./commands/install.js');
      const root = parsed.root ?? ops.defaultRoot();
      const dryRun = parsed['dry-run'] === true;
      process.exitCode =
        parsed.i !== undefined
          ? ops.runInstall({ config: parsed.i, root, dryRun })
          : ops.runUninstall({ root, purge: parsed.purge || parsed.u === 'purge', dryRun });
    } else if (parsed.c !== undefined) {
      updateConfig(parsed.c);
    } else {
      // `sysmon-ts [run] [options]`: without a command the options are run's (parsed by it,
      // so `sysmon-ts --jsonl -` is not silently the defaults)
      return main(['run', ...argv]);
    }
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

const invoked = process.argv[1] ? resolve(process.argv[1]) : '';
if (invoked.endsWith('cli.ts') || invoked.endsWith('cli.js') || invoked.endsWith('bin.js')) {
  main(hideBin(process.argv)).catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`sysmon-ts: ${msg}\n`);
    process.exit(2);
  });
}
