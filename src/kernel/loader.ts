// Opens, loads and attaches the driver's BPF objects through libbpf, and owns their links.
// Every object shares one ring, one drop counter and one scratch area: the first object
// creates them and the others reuse their fds, so a single reader sees every family.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { bpf, bpfExtra, bpfUprobe, koffi, UPROBE_OPTS_SIZE, withSignalsBlocked } from './ffi.js';
import { RingReader } from './ring.js';
import { KernelFilterMaps } from './kernel-filter-maps.js';

const SHARED_MAPS = ['events', 'drops', 'scratch', 'walk_state'] as const;

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

export class Driver {
  readonly ring: RingReader;
  /** optional objects this kernel refused to load */
  readonly loadFailures: { object: string; error: string }[] = [];
  /** programs that failed to attach at load */
  attachFailures: { program: string; error: string }[] = [];
  private readonly objects: unknown[] = [];
  /** every loaded program by name, and its link while attached */
  private readonly programs = new Map<string, { prog: unknown; link: unknown | null }>();
  private readonly dropsFd: number;
  private readonly cpus: number;

  constructor(opts: DriverOptions) {
    this.cpus = bpf.numPossibleCpus();
    const shared = new Map<string, number>();
    try {
      // the first object (the process family) is required: it makes the ring and process
      // state; any other family that this kernel cannot load (no io_uring, no ext4, an older
      // tracepoint) costs only its own events and is reported (loadFailures -> event 255)
      opts.objects.forEach((path, i) => {
        try {
          this.loadObject(path, opts, shared);
        } catch (err) {
          if (i === 0) throw err;
          this.loadFailures.push({ object: path, error: err instanceof Error ? err.message : String(err) });
        }
      });
    } catch (err) {
      this.close();
      throw err;
    }
    const eventsFd = shared.get('events');
    const dropsFd = shared.get('drops');
    if (eventsFd === undefined || dropsFd === undefined) throw new DriverError('no BPF object defines the events ring');
    this.dropsFd = dropsFd;
    this.ring = new RingReader(eventsFd, this.ringBytes);
  }

  private ringBytes = 0;

  private loadObject(path: string, opts: DriverOptions, shared: Map<string, number>): void {
    if (!existsSync(path)) throw new DriverError(`BPF object ${path} not found (run: make -C driver/linux)`);
    const obj = bpf.openFile(path, null);
    if (!obj) throw new DriverError(`libbpf could not open ${path} (errno ${koffi.errno()})`);
    this.objects.push(obj);
    for (const name of SHARED_MAPS) {
      const map = bpf.findMap(obj, name);
      if (!map) continue;
      const fd = shared.get(name);
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
    const err = withSignalsBlocked(() => bpf.load(obj));
    if (err !== 0) throw new DriverError(`loading ${path} into the kernel failed (${err}): see the libbpf log above; root (or CAP_BPF+CAP_PERFMON) and BTF are required`);
    for (const name of SHARED_MAPS) {
      const map = bpf.findMap(obj, name);
      if (map && !shared.has(name)) shared.set(name, bpf.mapFd(map));
      if (map && name === 'events' && !this.ringBytes) this.ringBytes = bpfExtra.maxEntries(map);
    }
    for (const prog of programs) {
      const name = bpf.programName(prog) as string;
      this.programs.set(name, { prog, link: null });
    }
    this.attachFailures = this.updateAttachments(opts.wanted ?? (() => true));
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

  /** The file family's in-kernel filter tables (null when file.bpf.o is not loaded). */
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
    await Promise.all(attached.map((p) => new Promise<void>((resolve) => {
      const link = p.link;
      p.link = null;
      (bpf.destroyLink as unknown as { async(link: unknown, done: (err: unknown) => void): void }).async(link, () => resolve());
    })));
  }

  close(): void {
    for (const p of this.programs.values()) {
      if (p.link) bpf.destroyLink(p.link);
      p.link = null;
    }
    this.ring?.close();
    for (const obj of this.objects.splice(0)) bpf.close(obj);
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
      if (line.includes('/') && file.endsWith(`/${name}`)) { path = file; break; }
    }
  } catch { /* no procfs */ }
  if (!path) {
    try {
      const arch = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64' : '';
      for (const line of execFileSync('ldconfig', ['-p'], { encoding: 'utf8' }).split('\n')) {
        const lm = /^\s*(\S+) \(([^)]*)\) => (\S+)$/.exec(line);
        if (lm && lm[1] === name && (!arch || lm[2]!.includes(arch))) { path = lm[3]!; break; }
      }
    } catch { /* no ldconfig */ }
  }
  libraries.set(name, path);
  return path;
}
