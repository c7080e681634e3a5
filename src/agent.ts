// The running monitor: driver -> ring -> capture -> rules -> journal -> sinks.
// Data moves one way; sinks see only journaled events. Everything the agent notices about
// itself (start/stop, config loads, drops, bad records, sink losses) is an event too.
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Capture } from './capture.js';
import { type Config, ConfigError, DEFAULT_MATCH, defaultConfig, loadConfigFile, type MatchOptions } from './config/index.js';
import type { Identity, SysmonEvent } from './events/event.js';
import { configChanged, errorReport, serviceState } from './events/service-events.js';
import { Fanout, Journal, type FsyncPolicy, type WriteOutage } from './journal/index.js';
import { CRC32C_IMPLEMENTATION } from './journal/crc32c.js';
import { kernelPlatform, type AgentDriver, type KernelPlatform, type PlatformCapture } from './platform/index.js';
import { configureFileEvents } from './families/file/events.js';
import { earlyFilter } from './events/early-filter.js';
import { setNetworkOptions } from './families/network/events.js';
import { ConfigGenerations } from './config/kernel-filter/generations.js';
import { liveVerdicts } from './config/kernel-filter/live-verdicts.js';
import { setConventions } from './events/conventions.js';
import type { Sink } from '../sinks/sink.js';
import { startupPhases } from './startup-phases.js';
import { ReadPacing } from './kernel/read-pacing.js';

export interface AgentOptions {
  /** Sysmon XML config; undefined: Sysmon's defaults (process create/terminate) */
  configPath?: string;
  journalDir: string;
  journalFsync?: FsyncPolicy;
  journalMaxBytes?: number;
  /** BPF objects to load */
  objects: readonly string[];
  identity: Identity;
  /** the sinks, already built from the command line */
  sinks: Sink[];
  /** sinks that should not replay a backlog after a restart (the terminal view) */
  liveOnlySinks?: Set<string>;
  logger: Logger;
  ringBytes?: number;
  /** Windows: read the ring from this named section instead of the driver's device */
  ringSection?: string;
  /**
   * how soon the ring is read again after a read that found records (default 50 ms, `--poll-ms`):
   * every read costs a fixed amount whatever it carries (the journal write, the sinks' writes,
   * promise hops, and above all a cold start: the agent's code and data are out of the CPU's
   * caches after the workload ran meanwhile), so fewer, larger batches cost less CPU per event:
   * an exec storm cost 19% less per exec at 50 ms than at 20 (bench/RESULTS.md, 2026-12-05
   * 02:40), for a latency to the sinks of p99 51-59 ms instead of 21-24 (budget: 100 ms).
   * A read of >= 4096 records reads again at once.
   */
  pollMs?: number;
  statsEveryMs?: number;
  /** compile the config into the kernel's file filter (default true; docs/kernel-filtering.md) */
  kernelFilter?: boolean;
  /** how config values compare (Sysmon for Linux's rules unless --windows) and the --image-basename extension */
  matching?: MatchOptions;
  /** called with a config path before it is loaded (start and reload); throws to refuse it */
  checkConfig?: (path: string) => void;
}

export interface AgentStats {
  records: number;
  rejected: number;
  kernelDrops: string;
  /** records the in-kernel filter dropped (the config surely drops their events): file filter + per-process verdicts */
  kernelFiltered?: string;
  /** ... of which by per-process verdicts (network, image loads) */
  kernelFilteredByProcess?: string;
  /** verdicts written to the kernel: per process, by image (given at exec), loaded paths no rule watches */
  verdicts?: { processes: number; images: number; quietPaths: number; refused: number };
  accepted: number;
  filtered: number;
  processes: number;
  config: string;
  /** true while the journal's write backlog is full: the ring is not read (the kernel counts what it drops) */
  capturePaused: boolean;
}

export class Agent {
  config!: Config;
  private driver!: AgentDriver;
  private journal!: Journal;
  private fanout!: Fanout;
  private capture!: Capture;
  private processes!: PlatformCapture;
  private timers: NodeJS.Timeout[] = [];
  private pollTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  private paused = false;
  private accepted = 0;
  /** accepted events by EventID, for `status` (events/s by ID) */
  readonly acceptedById = new Map<number, number>();
  private filtered = 0;
  private readonly pacing: ReadPacing;
  /** configs by generation, and the kernel filter's tables (src/config/kernel-filter) */
  private generations!: ConfigGenerations;
  /** events of records the previous generation judged (after a reload) -> that config */
  private judgedBy = new WeakMap<SysmonEvent, Config>();

  constructor(private readonly opts: AgentOptions) {
    const poll = opts.pollMs ?? 50;
    this.pacing = new ReadPacing(Number.isFinite(poll) ? Math.min(1000, Math.max(1, poll)) : 50);
  }

  async start(): Promise<void> {
    if (this.opts.configPath) this.opts.checkConfig?.(this.opts.configPath);
    // the platform's driver, host facts and record handlers (libbpf on Linux, the section on Windows).
    // The BPF objects load (kernel BTF, verifier: most of the start-up) on libuv's pool while this
    // thread compiles the config and opens the journal; nothing is attached until the config says
    // which programs it needs
    const platform = kernelPlatform();
    await platform.preload();
    const driverLoading = platform.openDriver({
      objects: this.opts.objects,
      ringBytes: this.opts.ringBytes,
      ringSection: this.opts.ringSection,
      wanted: () => false,
    });
    // a load that fails while the journal opens must not count as an unhandled rejection (which
    // ends the process): startWith awaits it and reports it as the start's error
    driverLoading.catch(() => {});
    try {
      await this.startWith(platform, driverLoading);
    } catch (err) {
      // a config or journal error while the objects load: unload them, then report the error
      void driverLoading.then(
        (d) => {
          if (d !== this.driver) d.close();
        },
        () => {},
      );
      throw err;
    }
  }

  private async startWith(platform: KernelPlatform, driverLoading: Promise<AgentDriver>): Promise<void> {
    const log = this.opts.logger;
    const matching = this.opts.matching ?? DEFAULT_MATCH;
    setConventions(matching.provider);
    this.config = this.opts.configPath ? loadConfigFile(this.opts.configPath, matching) : defaultConfig(matching);
    configureFileEvents(this.config);
    earlyFilter.configure(this.config);
    setNetworkOptions(this.config.options, this.config.parsed.matching.provider);
    for (const n of this.config.notices) log.warn({ config: this.config.source }, n);
    for (const w of this.config.warnings) log.warn({ config: this.config.source }, w);
    startupPhases.mark('config');

    mkdirSync(this.opts.journalDir, { recursive: true });
    this.journal = await Journal.open({
      dir: this.opts.journalDir,
      fsync: this.opts.journalFsync ?? 'group',
      retention: this.opts.journalMaxBytes ? { maxBytes: this.opts.journalMaxBytes } : undefined,
      // at least 8 segments within the size limit, so retention (and reclaiming room on a full
      // disk) can delete a part of the journal, not nothing or all (64 MiB for the default 1 GiB)
      segmentBytes: this.opts.journalMaxBytes ? Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.floor(this.opts.journalMaxBytes / 8))) : undefined,
      onError: (err) => log.error({ err }, 'journal error'),
    });
    // a full disk (or any write failure) under the journal: events wait in memory, capture pauses
    // above the journal's high-water mark (kernel drops are then counted and reported as
    // RingDrops); once writes go through again the outage itself is reported
    this.journal.on('writes-resumed', (o: WriteOutage) => {
      const secs = ((o.untilMs - o.sinceMs) / 1000).toFixed(1);
      log.warn({ outage: o }, 'journal writes resumed');
      this.emit([
        errorReport(
          'JournalWriteError',
          `the journal could not write from ${new Date(o.sinceMs).toISOString()} to ${new Date(o.untilMs).toISOString()} (${secs} s, ${o.code}, ${o.failedAttempts} failed attempts` +
            `${o.reclaimedSegments ? `, ${o.reclaimedSegments} delivered segments deleted to make room` : ''}); events waited in memory meanwhile and are journaled now; ` +
            `any kernel records lost while capture was paused are reported in RingDrops events`,
        ),
      ]);
    });
    this.journal.on('retention', (r: { deleted: number; firstId: number; reason?: string }) => {
      if (r.reason === 'disk-full') log.warn(r, 'journal: the file system is full, deleted the oldest segment every sink had acknowledged');
    });
    startupPhases.mark('journal');
    const early: SysmonEvent[] = [];
    const rec = this.journal.recovery;
    if (rec && rec.cutBytes > 0) {
      early.push(
        errorReport(
          'JournalRecovery',
          `cut ${rec.cutBytes} bytes of torn or corrupted journal tail (${rec.cuts.map((c) => `${c.segment}@${c.offset}: ${c.reason}`).join(', ')}); numbering continues at ${rec.nextId}`,
        ),
      );
    }
    this.fanout = new Fanout(this.journal, {
      onLoss: (loss) => this.emit([errorReport('SinkLoss', `sink ${loss.sink} lost records ${loss.fromId}-${loss.toId} (${loss.count}, ${loss.reason})`)]),
      onSinkError: (sink, err, attempt) => log.warn({ sink, attempt, err: err.message }, 'sink write failed, retrying'),
    });
    for (const name of this.opts.liveOnlySinks ?? []) {
      await rm(join(this.opts.journalDir, 'cursors', `${name}.cursor`), { force: true });
    }
    for (const sink of this.opts.sinks) await this.fanout.add(sink);
    startupPhases.mark('sinks');

    this.processes = await platform.startCapture();
    this.capture = this.processes.capture;
    startupPhases.mark('captureSetup');
    const captured = this.config.capturedEvents();
    this.driver = await driverLoading;
    startupPhases.mark('driverLoadWait');
    const attachFailures = this.driver.updateAttachments((p) => this.processes.programWanted(p, captured));
    startupPhases.mark('attach');
    // seeded after attaching, so no process can fall between the snapshot and the hooks
    const seeded = this.processes.seedProcesses();
    startupPhases.mark('seed');
    log.info({ programs: this.driver.attached, processes: seeded, journalChecksums: CRC32C_IMPLEMENTATION }, 'driver attached');
    log.debug({ objects: this.driver.timings }, 'startup: BPF objects (ms)');
    this.generations = new ConfigGenerations(this.opts.kernelFilter === false ? null : (this.driver.kernelFilter?.() ?? null));
    this.activateKernelFilter(this.config, early);
    startupPhases.mark('kernelFilter');

    for (const f of this.driver.loadFailures)
      early.push(errorReport('LoadError', `kernel object ${f.object} could not be loaded, its events are missing: ${f.error}`));
    for (const f of attachFailures)
      early.push(errorReport('AttachError', `kernel program ${f.program} could not be attached, its events are missing: ${f.error}`));
    // Sysmon for Linux's order (telemetryReady): the configuration (16) first, then 4 Started
    early.push(configChanged(this.config.source || '(built-in defaults)', this.config.configurationFileHash()));
    early.push(...configWarnings(this.config));
    early.push(serviceState('Started'));
    this.emit(early);
    startupPhases.mark('firstEvents');

    this.schedulePoll(0);
    this.timers.push(setInterval(() => this.checkDrops(), 250));
    const sweep = this.processes.sweep?.bind(this.processes);
    if (sweep) this.timers.push(setInterval(() => sweep(Date.now()), 10_000));
    this.timers.push(setInterval(() => this.capture.setBootEpoch(this.processes.bootEpochNs()), 60_000));
    const every = this.opts.statsEveryMs ?? 60_000;
    if (every > 0) this.timers.push(setInterval(() => log.info({ agent: this.stats(), ...this.fanout.stats(), memory: memoryMB() }, 'stats'), every));
  }

  /** Rules, then the journal. Backpressure from the journal pauses reading the ring. */
  private emit(events: SysmonEvent[]): void {
    if (events.length === 0) return;
    const kept: SysmonEvent[] = [];
    for (const ev of events) {
      if ((this.judgedBy.get(ev) ?? this.config).engine.apply(ev)) {
        kept.push(ev);
        this.acceptedById.set(ev.id, (this.acceptedById.get(ev.id) ?? 0) + 1);
      } else this.filtered++;
    }
    if (kept.length === 0) return;
    this.accepted += kept.length;
    if (!this.journal.append(kept) && !this.paused) {
      this.paused = true;
      void this.journal.drain().then(() => {
        this.paused = false;
      });
    }
  }

  private schedulePoll(delay: number): void {
    if (this.stopping) return;
    this.pollTimer = setTimeout(() => this.poll(), delay);
  }

  private poll(): void {
    let n = 0;
    if (!this.paused) {
      n = this.drainRing();
      // processes exec'd in an earlier read and still alive get their kernel verdicts now
      liveVerdicts.afterRingRead();
    }
    // a full read is followed at once; an empty ring is read on a timer that backs off to 32 ms
    // (a 16 MiB ring takes ~0.4 s of the worst file storm to fill); see src/kernel/read-pacing.ts
    this.schedulePoll(this.pacing.next(n, this.lastReadEvents));
  }

  /** events the last ring read handed to the rules (0: the config dropped all its records early) */
  private lastReadEvents = 0;

  private drainRing(max = 16384): number {
    const out: SysmonEvent[] = [];
    const gens = this.generations;
    const n = this.driver.ring.drain(
      !gens.hasPrevious
        ? (raw) => this.capture.onRecord(raw, out)
        : (raw) => {
            const from = out.length;
            // a file record the previous generation's kernel tables judged: that config decides, so
            // the active config's early drop must not see it (the whole event is judged by `by` below)
            const by = gens.configFor(raw.readUInt16LE(2));
            this.capture.onRecord(raw, out, by === this.config ? earlyFilter : null);
            if (by !== this.config) for (let i = from; i < out.length; i++) this.judgedBy.set(out[i]!, by);
          },
      max,
    );
    this.lastReadEvents = out.length;
    // an exit is kept for the records of this batch and the next two only (ProcessTable.endBatch)
    if (n > 0) this.capture.processes.endBatch();
    const waits = this.capture.takeDeferred();
    if (waits.length === 0 && this.enrichment === null) {
      this.emit(out);
    } else {
      // a batch waiting for enrichment (hashes...) holds back later batches: order is kept
      const prev = this.enrichment ?? Promise.resolve();
      const mine: Promise<void> = prev
        .then(() => Promise.allSettled(waits))
        .then(() => {
          this.emit(out);
          if (this.enrichment === mine) this.enrichment = null;
        });
      this.enrichment = mine;
    }
    return n;
  }

  private enrichment: Promise<void> | null = null;

  private checkDrops(): void {
    const total = this.driver.drops();
    if (total <= this.capture.counters.kernelDrops) return;
    // what the ring kept was written before the loss was noticed: log it first (this timer can
    // fire before the next poll), so the 255 follows the events that made it
    if (!this.paused && !this.stopping) this.drainRing();
    const out: SysmonEvent[] = [];
    this.capture.checkDrops(total, out);
    if (this.enrichment === null) {
      this.emit(out);
      return;
    }
    // a batch still waits for its hashes: the report goes after it, in order
    const mine: Promise<void> = this.enrichment.then(() => {
      this.emit(out);
      if (this.enrichment === mine) this.enrichment = null;
    });
    this.enrichment = mine;
  }

  /** Loads a new config; a bad one is reported (255) and the running one stays. */
  reloadConfig(path = this.opts.configPath): boolean {
    const log = this.opts.logger;
    try {
      if (path) this.opts.checkConfig?.(path);
      const matching = this.opts.matching ?? DEFAULT_MATCH;
      const next = path ? loadConfigFile(path, matching) : defaultConfig(matching);
      const captured = next.capturedEvents();
      const failures = this.driver.updateAttachments((p) => this.processes.programWanted(p, captured));
      this.emit(failures.map((f) => errorReport('AttachError', `kernel program ${f.program} could not be attached, its events are missing: ${f.error}`)));
      this.config = next;
      const reports: SysmonEvent[] = [];
      this.activateKernelFilter(next, reports);
      this.emit(reports);
      configureFileEvents(next);
      earlyFilter.configure(next);
      setNetworkOptions(next.options, next.parsed.matching.provider);
      this.opts.configPath = path;
      for (const n of next.notices) log.warn({ config: next.source }, n);
      for (const w of next.warnings) log.warn({ config: next.source }, w);
      this.emit([configChanged(next.source || '(built-in defaults)', next.configurationFileHash()), ...configWarnings(next)]);
      log.info({ config: next.source, programs: this.driver.attached }, 'configuration reloaded');
      return true;
    } catch (err) {
      const msg = err instanceof ConfigError || err instanceof Error ? err.message : String(err);
      log.error({ config: path }, `configuration rejected, keeping the previous one: ${msg}`);
      this.emit([errorReport('ConfigError', `configuration rejected, previous one kept: ${msg}`)]);
      return false;
    }
  }

  /** New records are judged by `config` from now on, in user space and in the kernel. */
  private activateKernelFilter(config: Config, reports: SysmonEvent[]): void {
    try {
      const lines = this.generations.activate(config);
      if (lines.length) this.opts.logger.info({ kernelFilter: lines }, 'in-kernel file filter compiled from the config');
    } catch (err) {
      // the kernel keeps the previous tables, and its records keep saying so: their events are
      // judged by the previous config (ConfigGenerations.configFor), so none is lost between the two
      reports.push(errorReport('KernelFilterError', `in-kernel filter not updated: ${err instanceof Error ? err.message : String(err)}`));
    }
  }

  stats(): AgentStats {
    const c = this.capture.counters;
    return {
      records: c.records,
      rejected: c.rejected,
      kernelDrops: c.kernelDrops.toString(),
      ...kernelFiltered(this.driver.kernelFilter?.()?.read()),
      verdicts: { processes: liveVerdicts.written, images: liveVerdicts.imageVerdicts, quietPaths: liveVerdicts.quietPaths, refused: liveVerdicts.refused },
      // events the config dropped before enrichment (src/events/early-filter.ts) count as filtered
      accepted: this.accepted,
      filtered: this.filtered + earlyFilter.dropped,
      processes: this.processes.processCount(),
      config: this.config.source || '(built-in defaults)',
      capturePaused: this.paused,
    };
  }

  fanoutStats() {
    return this.fanout.stats();
  }

  /** Detach, drain what the kernel already wrote, write event 4 "Stopped", flush every sink. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const t of this.timers) clearInterval(t);
    const t0 = performance.now();
    const took: Record<string, number> = {};
    const lap = (what: string, since: number) => {
      took[what] = Math.round(performance.now() - since);
      return performance.now();
    };
    let t = t0;
    if (this.driver) {
      // detach first, then drain: what the kernel wrote until the last program went is kept
      await this.driver.detachAll();
      t = lap('detachMs', t);
      while (this.drainRing() > 0) {
        /* empty the ring */
      }
      this.checkDrops();
      this.driver.close();
      await this.enrichment;
      t = lap('drainMs', t);
    }
    if (this.journal) {
      this.emit([serviceState('Stopped')]);
      await this.journal.flush();
      const leftovers = await this.fanout.close();
      for (const l of leftovers) this.opts.logger.warn(l, 'sink not caught up at stop: it resumes from its cursor at the next start');
      await this.journal.close();
      t = lap('sinksMs', t);
    }
    this.opts.logger.info({ ...took, totalMs: Math.round(performance.now() - t0) }, 'stopped');
  }
}

/**
 * Where the agent's memory is, in MB: V8's heap (used of total), memory outside it that V8
 * tracks (external: Buffers, of which arrayBuffers), and the process's RSS, which also holds
 * native memory V8 does not see (libbpf, koffi, the ring's pages, code). Logged with the stats,
 * so a growing RSS can be told apart from a growing heap (issue 19's soak).
 */
function memoryMB(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers) };
}

/** Event 255 ConfigWarning per thing the config loader skipped or read differently (never silent). */
function configWarnings(config: Config): SysmonEvent[] {
  return config.warnings.map((w) => errorReport('ConfigWarning', w));
}

/** Records dropped in the kernel since start: by the file filter and by per-process verdicts. */
function kernelFiltered(c: { dropped: bigint; processDropped: bigint } | undefined): Pick<AgentStats, 'kernelFiltered' | 'kernelFilteredByProcess'> {
  return c === undefined ? {} : { kernelFiltered: (c.dropped + c.processDropped).toString(), kernelFilteredByProcess: c.processDropped.toString() };
}
