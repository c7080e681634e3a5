// Opens, loads and attaches the driver's BPF objects through libbpf, and owns their links.
// Every object shares one ring, one drop counter and one scratch area: the first object
// creates them and the others reuse their fds, so a single reader sees every family.
import { existsSync } from 'node:fs';
import { bpf, bpfExtra, koffi } from './ffi.js';
import { RingReader } from './ring.js';

const SHARED_MAPS = ['events', 'drops', 'scratch', 'walk_state'] as const;

export interface DriverOptions {
  /** .bpf.o files, one per event family */
  objects: string[];
  /** ring size in bytes (power of two, multiple of the page size) */
  ringBytes?: number;
  /** which programs to attach now (default all); see updateAttachments() */
  wanted?: (program: string) => boolean;
}

export class DriverError extends Error {}

export class Driver {
  readonly ring: RingReader;
  private readonly objects: unknown[] = [];
  /** every loaded program by name, and its link while attached */
  private readonly programs = new Map<string, { prog: unknown; link: unknown | null }>();
  private readonly dropsFd: number;
  private readonly cpus: number;

  constructor(opts: DriverOptions) {
    this.cpus = bpf.numPossibleCpus();
    const shared = new Map<string, number>();
    try {
      for (const path of opts.objects) this.loadObject(path, opts, shared);
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
    const err = bpf.load(obj);
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
    this.updateAttachments(opts.wanted ?? (() => true));
  }

  /**
   * Attaches the wanted programs that are not attached and detaches the others: loaded
   * programs cost nothing in the kernel until attached, so a config reload can switch
   * event families on and off without reloading anything.
   */
  updateAttachments(wanted: (program: string) => boolean): void {
    for (const [name, p] of this.programs) {
      const want = wanted(name);
      if (want && !p.link) {
        const link = bpf.attach(p.prog);
        if (!link) throw new DriverError(`attaching ${name} failed (errno ${koffi.errno()})`);
        p.link = link;
      } else if (!want && p.link) {
        bpf.destroyLink(p.link);
        p.link = null;
      }
    }
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

  close(): void {
    for (const p of this.programs.values()) {
      if (p.link) bpf.destroyLink(p.link);
      p.link = null;
    }
    this.ring?.close();
    for (const obj of this.objects.splice(0)) bpf.close(obj);
  }
}
