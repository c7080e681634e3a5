// Opens, loads and attaches the driver's BPF objects through libbpf, and owns their links.
// Every object shares one ring, one drop counter and one scratch area, so a single reader sees
// every family: Driver.open creates them from the first object's definitions before any load
// (every object then loads at once); the serial constructor lets the first object create them.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { bpf, bpfExtra, bpfUprobe, koffi, libcFns, UPROBE_OPTS_SIZE, withSignalsBlocked } from './ffi.js';
import { RingReader } from './ring.js';
import { KernelFilterMaps } from './kernel-filter-maps.js';

// the filter tables and the per-process verdicts too: the file, network and image families read
// them (process.bpf.c defines them all, driver/linux/verdict.bpf.h)
const SHARED_MAPS = [
  'events',
  'drops',
  'scratch',
  'walk_state',
  'kf_tables',
  'kf_active',
  'kf_stats',
  'pv_exec',
  'pv_verdicts',
  'pv_image_verdicts',
  'pv_quiet_paths',
] as const;

export interface DriverOptions {
  /** .bpf.o files, one per event family; the first is required (it makes the ring) */
  objects: readonly string[];
  /** ring size in bytes (power of two, multiple of the page size) */
  ringBytes?: number;
  /** which programs to attach now (default all); see updateAttachments() */
  wanted?: (program: string) => boolean;
  /** Windows: a named section holding the ring, instead of the driver's device (run --ring-section) */
  ringSection?: string;
}

export class DriverError extends Error {}

/** An object opened by libbpf (maps sized and shared), not yet loaded into the kernel. */
interface OpenedObject {
  path: string;
  obj: unknown;
  programs: unknown[];
  openMs: number;
}

const EAGAIN = -11;
const EINTR = -4;
/** mallopt(3) parameters */
const M_TRIM_THRESHOLD = -1;
const M_MMAP_THRESHOLD = -3;

export class Driver {
  private ringReader: RingReader | null = null;
  /** optional objects this kernel refused to load */
  readonly loadFailures: { object: string; error: string }[] = [];
  /** where each object's start-up went (ms): libbpf open (ELF, maps), load (vmlinux BTF, CO-RE, verifier), attach */
  readonly timings: { object: string; openMs: number; loadMs: number; attachMs: number; programs: number }[] = [];
  /** programs that failed to attach at load */
  attachFailures: { program: string; error: string }[] = [];
  private readonly objects: unknown[] = [];
  /** every loaded program by name, and its link while attached */
  private readonly programs = new Map<string, { prog: unknown; link: unknown | null }>();
  private dropsFd = -1;
  private readonly cpus: number;
  private readonly shared = new Map<string, number>();

  /** Loads every object one after another on this thread (Driver.open loads them in parallel). */
  constructor(opts: DriverOptions, deferLoad = false) {
    this.cpus = bpf.numPossibleCpus();
    if (deferLoad) return;
    try {
      // the first object (the process family) is required: it makes the ring and process
      // state; any other family that this kernel cannot load (no io_uring, no ext4, an older
      // tracepoint) costs only its own events and is reported (loadFailures -> event 255)
      opts.objects.forEach((path, i) => {
        try {
          const opened = this.openObject(path, opts);
          const t = performance.now();
          this.finishLoad(
            opened,
            withSignalsBlocked(() => bpf.load(opened.obj)),
            performance.now() - t,
          );
        } catch (err) {
          if (i === 0) throw err;
          this.loadFailures.push({ object: path, error: err instanceof Error ? err.message : String(err) });
        }
      });
      this.attachAtLoad(opts);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /**
   * The driver with every object loaded in parallel on libuv's thread pool (4 threads): each
   * load parses the kernel's BTF (~25 ms here) and runs the verifier (file.bpf.o ~190 ms), all in
   * libbpf and the kernel, so the loads use every core and the main thread stays free meanwhile
   * (the agent compiles its config and opens its journal). Only the first object is required.
   */
  static async open(opts: DriverOptions): Promise<Driver> {
    const d = new Driver(opts, true);
    // each load parses the kernel's BTF (two 5.4 MB blocks here, and libbpf's indexes) in malloc
    // memory of the pool thread that runs it, and frees it after the load. glibc's dynamic
    // thresholds then keep up to twice the largest freed block in every such thread's arena
    // (11 MB each, 25-45 MB of RSS; malloc_trim does not trim a thread arena's top). Fixed
    // thresholds: blocks of 1 MiB and more are mmapped and unmapped when freed, and an arena's
    // top is trimmed above 2 MiB (what the dynamic rule gives for 1 MiB blocks)
    libcFns.mallopt(M_MMAP_THRESHOLD, 1 << 20);
    libcFns.mallopt(M_TRIM_THRESHOLD, 2 << 20);
    try {
      const [first, ...rest] = opts.objects;
      if (first === undefined) throw new DriverError('no BPF object to load');
      // the shared maps are made here from the first object's definitions, so every object,
      // the first included, loads at once: no load waits for another, nor for this thread
      // (busy compiling the config meanwhile) to pass a map's fd on
      const opened = [d.openObject(first, opts)];
      d.createSharedMaps(opened[0]!);
      const failed: (Error | null)[] = rest.map(() => null);
      rest.forEach((path, i) => {
        try {
          opened.push(d.openObject(path, opts));
        } catch (err) {
          failed[i] = err instanceof Error ? err : new Error(String(err));
        }
      });
      const results = await Promise.allSettled(opened.map((o) => d.loadOnPool(o, opts)));
      if (results[0]!.status === 'rejected') throw results[0]!.reason;
      d.registerPrograms(opened[0]!);
      // the optional ones in the objects' order, whatever order they finished in
      let k = 1;
      rest.forEach((path, i) => {
        const err = failed[i] ?? (results[k]!.status === 'rejected' ? ((results[k] as PromiseRejectedResult).reason as Error) : null);
        if (failed[i] === null) {
          if (err === null) d.registerPrograms(opened[k]!);
          k++;
        }
        if (err) d.loadFailures.push({ object: path, error: err.message });
      });
      d.attachAtLoad(opts);
    } catch (err) {
      d.close();
      throw err;
    } finally {
      // and what the loads freed in the main arena goes back to the kernel now
      libcFns.mallocTrim(0);
    }
    return d;
  }

  /**
   * Creates the maps every object shares (the ring, the drop counter, scratch space) as the first
   * object defines them (sizes set by openObject), and points that object at them: every other
   * object then reuses them before any load (libbpf checks type, sizes and flags match).
   */
  private createSharedMaps(o: OpenedObject): void {
    for (const name of SHARED_MAPS) {
      const map = bpf.findMap(o.obj, name);
      if (!map) continue;
      const fd = bpfExtra.mapCreate(bpfExtra.mapType(map), name, bpfExtra.keySize(map), bpfExtra.valueSize(map), bpfExtra.maxEntries(map), null) as number;
      if (fd < 0) throw new DriverError(`cannot create the shared map ${name} (${fd}): root (or CAP_BPF) is required`);
      this.ownedFds.push(fd);
      if (bpfExtra.reuseFd(map, fd) !== 0) throw new DriverError(`cannot share map ${name} with ${o.path}`);
      this.shared.set(name, fd);
    }
  }

  /** fds of the maps createSharedMaps made (libbpf dups them into each object; ours close at close()) */
  private readonly ownedFds: number[] = [];

  get ring(): RingReader {
    if (!this.ringReader) throw new DriverError('the driver is not loaded');
    return this.ringReader;
  }

  private ringBytes = 0;

  /** libbpf open (ELF parse), the shared maps pointed at the first object's, the ring sized. */
  private openObject(path: string, opts: DriverOptions): OpenedObject {
    if (!existsSync(path)) throw new DriverError(`BPF object ${path} not found (run: make -C driver/linux)`);
    const t0 = performance.now();
    const obj = bpf.openFile(path, null);
    if (!obj) throw new DriverError(`libbpf could not open ${path} (errno ${koffi.errno()})`);
    this.objects.push(obj);
    for (const name of SHARED_MAPS) {
      const map = bpf.findMap(obj, name);
      if (!map) continue;
      const fd = this.shared.get(name);
      if (fd !== undefined) {
        if (bpfExtra.reuseFd(map, fd) !== 0) throw new DriverError(`cannot share map ${name} with ${path}`);
      } else if (name === 'scratch') {
        bpf.setMaxEntries(map, this.cpus);
      } else if (name === 'events' && opts.ringBytes) {
        bpf.setMaxEntries(map, opts.ringBytes);
      }
    }
    const programs: unknown[] = [];
    for (let p = bpf.nextProgram(obj, null); p; p = bpf.nextProgram(obj, p)) programs.push(p);
    return { path, obj, programs, openMs: performance.now() - t0 };
  }

  /**
   * bpf_object__load on a pool thread. A signal pending on that thread can make the verifier give
   * up (EAGAIN, EINTR; the main thread blocks signals around its loads, a pool thread cannot):
   * such an object is opened again and loaded here with signals blocked.
   */
  private async loadOnPool(opened: OpenedObject, opts: DriverOptions): Promise<void> {
    const t = performance.now();
    let err = await new Promise<number>((resolve, reject) => {
      (bpf.load as unknown as { async(obj: unknown, done: (e: unknown, rc: number) => void): void }).async(opened.obj, (e, rc) =>
        e ? reject(e) : resolve(rc),
      );
    });
    if (err === EAGAIN || err === EINTR) {
      this.forgetObject(opened.obj);
      const again = this.openObject(opened.path, opts);
      opened.obj = again.obj;
      opened.programs = again.programs;
      err = withSignalsBlocked(() => bpf.load(again.obj));
    }
    this.finishLoad(opened, err, performance.now() - t, false);
  }

  private forgetObject(obj: unknown): void {
    const i = this.objects.indexOf(obj);
    if (i >= 0) this.objects.splice(i, 1);
    bpf.close(obj);
  }

  /** After a load: the shared maps' fds (from the first object), the programs, the timing. */
  private finishLoad(o: OpenedObject, err: number, loadMs: number, register = true): void {
    if (err !== 0)
      throw new DriverError(`loading ${o.path} into the kernel failed (${err}): see the libbpf log above; root (or CAP_BPF+CAP_PERFMON) and BTF are required`);
    for (const name of SHARED_MAPS) {
      const map = bpf.findMap(o.obj, name);
      if (map && !this.shared.has(name)) this.shared.set(name, bpf.mapFd(map));
      if (map && name === 'events' && !this.ringBytes) this.ringBytes = bpfExtra.maxEntries(map);
    }
    const ms = (x: number) => Math.round(x * 10) / 10;
    this.timings.push({
      object: o.path.slice(o.path.lastIndexOf('/') + 1),
      openMs: ms(o.openMs),
      loadMs: ms(loadMs),
      attachMs: 0,
      programs: o.programs.length,
    });
    if (register) this.registerPrograms(o);
  }

  private registerPrograms(o: OpenedObject): void {
    for (const prog of o.programs) this.programs.set(bpf.programName(prog) as string, { prog, link: null });
  }

  /** Attaches the wanted programs of every loaded object, then opens the ring. */
  private attachAtLoad(opts: DriverOptions): void {
    const t = performance.now();
    this.attachFailures = this.updateAttachments(opts.wanted ?? (() => true));
    const attachMs = Math.round((performance.now() - t) * 10) / 10;
    if (this.timings.length) this.timings.push({ object: '(attach, all objects)', openMs: 0, loadMs: 0, attachMs, programs: this.attached.length });
    const eventsFd = this.shared.get('events');
    const dropsFd = this.shared.get('drops');
    if (eventsFd === undefined || dropsFd === undefined) throw new DriverError('no BPF object defines the events ring');
    this.dropsFd = dropsFd;
    this.ringReader = new RingReader(eventsFd, this.ringBytes);
  }

  /**
   * Attaches the wanted programs that are not attached and detaches the others: loaded
   * programs cost nothing in the kernel until attached, so a config reload can switch
   * event families on and off without reloading anything.
   */
  updateAttachments(wanted: (program: string) => boolean): { program: string; error: string }[] {
    // one program that cannot attach (a missing libc for a uprobe, a hook this kernel lacks)
    // costs its own events, not the whole monitor: the caller reports each failure as 255
    const failures: { program: string; error: string }[] = [];
    for (const [name, p] of this.programs) {
      const want = wanted(name);
      if (want && !p.link) {
        try {
          const link = attachProgram(p.prog);
          if (!link) throw new DriverError(`errno ${koffi.errno()}`);
          p.link = link;
        } catch (err) {
          failures.push({ program: name, error: err instanceof Error ? err.message : String(err) });
        }
      } else if (!want && p.link) {
        bpf.destroyLink(p.link);
        p.link = null;
      }
    }
    return failures;
  }

  /** fd of a map by name, from the first loaded object that has it (null: none has) */
  mapFd(name: string): number | null {
    for (const obj of this.objects) {
      const map = bpf.findMap(obj, name);
      if (map) return bpf.mapFd(map);
    }
    return null;
  }

  /** The in-kernel filter's tables and per-process verdicts (null when the objects lack them). */
  kernelFilter(): KernelFilterMaps | null {
    return this.kf === undefined ? (this.kf = KernelFilterMaps.open(this, this.cpus)) : this.kf;
  }

  private kf: KernelFilterMaps | null | undefined;

  /** Names of every loaded program, attached or not. */
  get programNames(): string[] {
    return [...this.programs.keys()];
  }

  /** Names of the programs attached now. */
  get attached(): string[] {
    return [...this.programs].filter(([, p]) => p.link).map(([n]) => n);
  }

  /** Records the BPF side could not put in the ring, summed over CPUs, since load. */
  drops(): bigint {
    const values = new BigUint64Array(this.cpus);
    const key = new Uint32Array([0]);
    if (bpf.lookupElem(this.dropsFd, key, values) !== 0) return 0n;
    return values.reduce((a, b) => a + b, 0n);
  }

  /**
   * Detaches every program, all at once. Each detach waits in the kernel for an RCU grace
   * period (30-120 ms, uprobes the longest): one after another that was ~3 s for the ~80
   * programs at stop; on libuv's threadpool the waits overlap (~1 s).
   */
  async detachAll(): Promise<void> {
    const attached = [...this.programs.values()].filter((p) => p.link);
    await Promise.all(
      attached.map(
        (p) =>
          new Promise<void>((resolve) => {
            const link = p.link;
            p.link = null;
            (bpf.destroyLink as unknown as { async(link: unknown, done: (err: unknown) => void): void }).async(link, () => resolve());
          }),
      ),
    );
  }

  close(): void {
    for (const p of this.programs.values()) {
      if (p.link) bpf.destroyLink(p.link);
      p.link = null;
    }
    this.ringReader?.close();
    for (const obj of this.objects.splice(0)) bpf.close(obj);
    for (const fd of this.ownedFds.splice(0)) closeSync(fd);
  }
}

/**
 * bpf_program__attach, except for sections "uprobe/<binary>:<function>" and
 * "uretprobe/<binary>:<function>": <binary> is an absolute path or a library name
 * ("libc.so.6") resolved to the file processes load (resolveLibrary); the probe covers
 * every process that maps that file (pid -1).
 */
function attachProgram(prog: unknown): unknown {
  const m = /^(uprobe|uretprobe)\/([^:]+):(.+)$/.exec(String(bpfUprobe.sectionName(prog) ?? ''));
  if (!m) return bpf.attach(prog);
  const binary = m[2]!.startsWith('/') ? m[2]! : resolveLibrary(m[2]!);
  if (!binary) throw new DriverError(`uprobe target ${m[2]} not found (ldconfig -p, /proc/self/maps)`);
  const opts = { sz: UPROBE_OPTS_SIZE, ref_ctr_offset: 0, bpf_cookie: 0, retprobe: m[1] === 'uretprobe', func_name: m[3]! };
  return bpfUprobe.attach(prog, -1, binary, 0, opts);
}

const libraries = new Map<string, string | null>();

/** A shared library's path as this system's processes load it: our own mapping, else ldconfig. */
export function resolveLibrary(name: string): string | null {
  if (libraries.has(name)) return libraries.get(name)!;
  let path: string | null = null;
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && file.endsWith(`/${name}`)) {
        path = file;
        break;
      }
    }
  } catch {
    /* no procfs */
  }
  if (!path) {
    try {
      const arch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : '';
      for (const line of execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).split('\n')) {
        const lm = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
        if (lm && lm[1] === name && (!arch || lm[2]!.includes(arch))) {
          path = lm[3]!;
          break;
        }
      }
    } catch {
      /* no ldconfig */
    }
  }
  libraries.set(name, path);
  return path;
}
