// FFI bindings to libbpf and libc through koffi: the only place that knows C signatures.
import koffi from 'koffi';

const libbpf = koffi.load('libbpf.so.1');
const libc = koffi.load('libc.so.6');

koffi.opaque('bpf_object');
koffi.opaque('bpf_program');
koffi.opaque('bpf_map');
koffi.opaque('bpf_link');

export const bpf = {
  openFile: libbpf.func('bpf_object *bpf_object__open_file(const char *path, void *opts)'),
  load: libbpf.func('int bpf_object__load(bpf_object *obj)'),
  close: libbpf.func('void bpf_object__close(bpf_object *obj)'),
  findMap: libbpf.func('bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
  mapFd: libbpf.func('int bpf_map__fd(bpf_map *map)'),
  setMaxEntries: libbpf.func('int bpf_map__set_max_entries(bpf_map *map, uint32_t max)'),
  nextProgram: libbpf.func('bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prev)'),
  programName: libbpf.func('const char *bpf_program__name(bpf_program *prog)'),
  setAutoload: libbpf.func('int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
  attach: libbpf.func('bpf_link *bpf_program__attach(bpf_program *prog)'),
  destroyLink: libbpf.func('int bpf_link__destroy(bpf_link *link)'),
  lookupElem: libbpf.func('int bpf_map_lookup_elem(int fd, const void *key, _Out_ void *value)'),
  numPossibleCpus: libbpf.func('int libbpf_num_possible_cpus(void)'),
  errstr: libbpf.func('int libbpf_strerror(int err, _Out_ char *buf, size_t size)'),
};

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;
export const CLOCK_REALTIME = 0;
export const CLOCK_BOOTTIME = 7;

const timespec = koffi.struct('timespec', { tv_sec: 'int64_t', tv_nsec: 'int64_t' });

export const libcFns = {
  mmap: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
  munmap: libc.func('int munmap(void *addr, size_t len)'),
  clockGettime: libc.func('int clock_gettime(int clk, _Out_ timespec *ts)'),
  getpagesize: libc.func('int getpagesize(void)'),
  /** returns freed heap memory of every malloc arena to the kernel (glibc) */
  mallocTrim: libc.func('int malloc_trim(size_t pad)'),
  mallopt: libc.func('int mallopt(int param, int value)'),
};

const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
const pthreadSigmask = libc.func('int pthread_sigmask(int how, const uint8_t *set, _Out_ uint8_t *old)');

/**
 * Runs `fn` with every signal blocked on this thread. The verifier gives up with EAGAIN
 * when a signal is pending on the loading thread (the CPU profiler's SIGPROF, a timer), and
 * libbpf's five retries are not enough under a steady signal stream; blocked signals are
 * delivered when the mask is restored.
 */
export function withSignalsBlocked<T>(fn: () => T): T {
  const all = Buffer.alloc(128, 0xff); // sigset_t on glibc: 1024 bits
  const old = Buffer.alloc(128);
  if (pthreadSigmask(SIG_BLOCK, all, old) !== 0) return fn();
  try {
    return fn();
  } finally {
    pthreadSigmask(SIG_SETMASK, old, Buffer.alloc(128));
  }
}

export function errnoMessage(): string {
  const e = koffi.errno();
  return `errno ${e}`;
}

export function clockNs(clock: number): bigint {
  const ts = { tv_sec: 0n, tv_nsec: 0n } as { tv_sec: bigint | number; tv_nsec: bigint | number };
  libcFns.clockGettime(clock, ts);
  return BigInt(ts.tv_sec) * 1_000_000_000n + BigInt(ts.tv_nsec);
}

export { koffi, timespec };

export const bpfExtra = {
  reuseFd: libbpf.func('int bpf_map__reuse_fd(bpf_map *map, int fd)'),
  maxEntries: libbpf.func('uint32_t bpf_map__max_entries(bpf_map *map)'),
  // a map's definition, to create it before any object is loaded (loader.ts Driver.open)
  mapType: libbpf.func('int bpf_map__type(bpf_map *map)'),
  keySize: libbpf.func('uint32_t bpf_map__key_size(bpf_map *map)'),
  valueSize: libbpf.func('uint32_t bpf_map__value_size(bpf_map *map)'),
  mapFlags: libbpf.func('uint32_t bpf_map__map_flags(bpf_map *map)'),
  mapCreate: libbpf.func('int bpf_map_create(int type, const char *name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, void *opts)'),
  updateElem: libbpf.func('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
};

// uprobes (sections "uprobe/<binary>:<function>", "uretprobe/..."): see loader.ts
const uprobeOpts = koffi.struct('bpf_uprobe_opts', {
  sz: 'size_t',
  ref_ctr_offset: 'size_t',
  bpf_cookie: 'uint64_t',
  retprobe: 'bool',
  func_name: 'const char *',
});
export const UPROBE_OPTS_SIZE = koffi.sizeof(uprobeOpts);
export const bpfUprobe = {
  sectionName: libbpf.func('const char *bpf_program__section_name(bpf_program *prog)'),
  attach: libbpf.func(
    'bpf_link *bpf_program__attach_uprobe_opts(bpf_program *prog, int pid, const char *binary_path, size_t func_offset, const bpf_uprobe_opts *opts)',
  ),
};
