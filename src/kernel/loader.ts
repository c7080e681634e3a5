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
  /** program names to leave unloaded (the config does not want their events) */
  skipPrograms?: Set<string>;
}

export class DriverError extends Error {}

export class Driver {
  readonly ring: RingReader;
  readonly attached: string[] = [];
  private readonly objects: unknown[] = [];
  private readonly links: unknown[] = [];
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
    for (let p = bpf.nextProgram(obj, null); p; p = bpf.nextProgram(obj, p)) {
      const name = bpf.programName(p) as string;
      if (opts.skipPrograms?.has(name)) bpf.setAutoload(p, false);
      else programs.push(p);
    }
    const err = bpf.load(obj);
    if (err !== 0) throw new DriverError(`loading ${path} into the kernel failed (${err}): see the libbpf log above; root (or CAP_BPF+CAP_PERFMON) and BTF are required`);
    for (const name of SHARED_MAPS) {
      const map = bpf.findMap(obj, name);
      if (map && !shared.has(name)) shared.set(name, bpf.mapFd(map));
      if (map && name === 'events' && !this.ringBytes) this.ringBytes = bpfExtra.maxEntries(map);
    }
    for (const p of programs) {
      const link = bpf.attach(p);
      if (!link) throw new DriverError(`attaching ${bpf.programName(p)} failed (errno ${koffi.errno()})`);
      this.links.push(link);
      this.attached.push(bpf.programName(p) as string);
    }
  }

  /** Records the BPF side could not put in the ring, summed over CPUs, since load. */
  drops(): bigint {
    const values = new BigUint64Array(this.cpus);
    const key = new Uint32Array([0]);
    if (bpf.lookupElem(this.dropsFd, key, values) !== 0) return 0n;
    return values.reduce((a, b) => a + b, 0n);
  }

  close(): void {
    for (const link of this.links.splice(0)) bpf.destroyLink(link);
    this.ring?.close();
    for (const obj of this.objects.splice(0)) bpf.close(obj);
  }
}
