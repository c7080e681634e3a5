// The Windows service's side of the ring: opens the driver's device (\\.\SysmonTs), asks it
// for a handle to the section the ring lives in (IOCTL_SYSMON_TS_GET_RING), maps the
// section once (kernel32 MapViewOfFile through koffi) and walks it with the same
// RingWalker as Linux, in single-mapping mode (a record that wraps is joined).
// Section layout (driver/include/events.h): consumer u64 at 0, struct win_ring_producer at
// 4096, data at 65536. Windows only: every native call is behind open() / openNamedSection();
// sectionViews() is plain memory and is what the tests drive on Linux; under Wine,
// test/windows/wine-*.test.ts drive the mapping path through openNamedSection().
import koffi from 'koffi';
import { RingWalker, type RingViews } from '../ring-walker.js';
import { STRUCTS } from '../generated/events-h.js';

export const WIN_RING = {
  magic: 0x53544d53,
  abiVersion: 1,
  headerBytes: 65536,
  consumerOff: 0,
  producerOff: 4096,
  ioctlGetRing: 0x8537e004,
  device: '\\\\.\\SysmonTs',
} as const;

const PR = STRUCTS.win_ring_producer.fields;
const RI = STRUCTS.win_ring_info.fields;

export interface SectionViews extends RingViews {
  /** the producer page (win_ring_producer): dropped counter, magic, version, size */
  producerPage: DataView;
}

/**
 * Views over a mapped section (or a test's ArrayBuffer laid out the same way), checked
 * against the producer page's magic, ABI version and data size.
 */
export function sectionViews(section: ArrayBuffer, byteOffset = 0, length = section.byteLength - byteOffset): SectionViews {
  if (length < WIN_RING.headerBytes) throw new Error(`section of ${length} bytes is shorter than the ring header`);
  const producerPage = new DataView(section, byteOffset + WIN_RING.producerOff, STRUCTS.win_ring_producer.size);
  const magic = producerPage.getUint32(PR.magic[0], true);
  if (magic !== WIN_RING.magic) throw new Error(`ring magic 0x${magic.toString(16)}, expected 0x${WIN_RING.magic.toString(16)} (not a sysmon-ts ring)`);
  const abi = producerPage.getUint32(PR.abi_version[0], true);
  if (abi !== WIN_RING.abiVersion) throw new Error(`ring ABI version ${abi}, this reader knows ${WIN_RING.abiVersion}`);
  const size = Number(producerPage.getBigUint64(PR.data_size[0], true));
  if (size <= 0 || size % 8 !== 0 || WIN_RING.headerBytes + size > length) {
    throw new Error(`ring data size ${size} does not fit a ${length}-byte section`);
  }
  const dataAt = byteOffset + WIN_RING.headerBytes;
  return {
    consumer: new BigUint64Array(section, byteOffset + WIN_RING.consumerOff, 1),
    producer: new BigUint64Array(section, byteOffset + WIN_RING.producerOff + PR.producer_pos[0], 1),
    data: Buffer.from(section, dataAt, size),
    dataWords: new Int32Array(section, dataAt, size / 4),
    size,
    mirrored: false,
    producerPage,
  };
}

/** Records the driver could not place (ring full), as counted in the producer page. */
export function droppedOf(views: SectionViews): bigint {
  return views.producerPage.getBigUint64(PR.dropped[0], true);
}

type Fn = (...args: unknown[]) => unknown;
interface Kernel32 {
  CreateFileW: Fn;
  DeviceIoControl: Fn;
  OpenFileMappingW: Fn;
  MapViewOfFile: Fn;
  VirtualQuery: Fn;
  UnmapViewOfFile: Fn;
  CloseHandle: Fn;
  GetLastError: Fn;
}
let kernel32: Kernel32 | null = null;

function k32(): Kernel32 {
  if (process.platform !== 'win32') throw new Error(`the Windows driver's ring opens on Windows only (this is ${process.platform})`);
  if (kernel32) return kernel32;
  const lib = koffi.load('kernel32.dll');
  kernel32 = {
    CreateFileW: lib.func('__stdcall', 'CreateFileW', 'intptr_t', ['str16', 'uint32_t', 'uint32_t', 'void *', 'uint32_t', 'uint32_t', 'intptr_t']),
    DeviceIoControl: lib.func('__stdcall', 'DeviceIoControl', 'int', [
      'intptr_t',
      'uint32_t',
      'void *',
      'uint32_t',
      'void *',
      'uint32_t',
      '_Out_ uint32_t *',
      'void *',
    ]),
    OpenFileMappingW: lib.func('__stdcall', 'OpenFileMappingW', 'intptr_t', ['uint32_t', 'int', 'str16']),
    VirtualQuery: lib.func('__stdcall', 'VirtualQuery', 'size_t', ['void *', '_Out_ uint8_t *', 'size_t']),
    MapViewOfFile: lib.func('__stdcall', 'MapViewOfFile', 'void *', ['intptr_t', 'uint32_t', 'uint32_t', 'uint32_t', 'size_t']),
    UnmapViewOfFile: lib.func('__stdcall', 'UnmapViewOfFile', 'int', ['void *']),
    CloseHandle: lib.func('__stdcall', 'CloseHandle', 'int', ['intptr_t']),
    GetLastError: lib.func('__stdcall', 'GetLastError', 'uint32_t', []),
  };
  return kernel32;
}

const GENERIC_READ = 0x80000000;
const GENERIC_WRITE = 0x40000000;
const OPEN_EXISTING = 3;
const FILE_MAP_WRITE = 0x2;
const FILE_MAP_READ = 0x4;
const INVALID_HANDLE = -1;

/** The driver's ring, as RingReader is the BPF ring: pending(), drain(), close(), plus dropped(). */
export class WindowsRing {
  private readonly walker: RingWalker;
  private closed = false;

  private constructor(
    private readonly view: unknown,
    private readonly section: number,
    private readonly views: SectionViews,
  ) {
    this.walker = new RingWalker(views);
  }

  /** Needs the driver loaded (fltmc load sysmon-ts) and SeTcbPrivilege (LocalSystem). */
  static open(device: string = WIN_RING.device): WindowsRing {
    const k = k32();
    const dev = k.CreateFileW(device, GENERIC_READ | GENERIC_WRITE, 0, null, OPEN_EXISTING, 0, 0) as number;
    if (dev === INVALID_HANDLE) throw new Error(`CreateFileW(${device}) failed (error ${k.GetLastError() as number}): is the driver loaded?`);
    let section = 0;
    try {
      const info = Buffer.alloc(STRUCTS.win_ring_info.size);
      const returned = [0];
      if (!k.DeviceIoControl(dev, WIN_RING.ioctlGetRing, null, 0, info, info.length, returned, null) || returned[0] !== info.length) {
        throw new Error(`IOCTL_SYSMON_TS_GET_RING failed (error ${k.GetLastError() as number})`);
      }
      section = Number(info.readBigUInt64LE(RI.section_handle[0]));
      const size = Number(info.readBigUInt64LE(RI.data_size[0]));
      const headerBytes = info.readUInt32LE(RI.header_bytes[0]);
      if (headerBytes !== WIN_RING.headerBytes) throw new Error(`ring header of ${headerBytes} bytes, expected ${WIN_RING.headerBytes}`);
      return WindowsRing.mapSection(section, headerBytes + size);
    } catch (e) {
      if (section) k.CloseHandle(section);
      throw e;
    } finally {
      k.CloseHandle(dev);
    }
  }

  /**
   * The ring in a named section (OpenFileMappingW), mapped and walked exactly as the driver's
   * section after the IOCTL: how a test harness or a driver shim hands the agent a ring
   * (`run --ring-section`, src/kernel/windows/driver.ts). The size is the mapped view's.
   */
  static openNamedSection(name: string): WindowsRing {
    const k = k32();
    const section = k.OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, 0, name) as number;
    if (!section) throw new Error(`OpenFileMappingW(${name}) failed (error ${k.GetLastError() as number})`);
    try {
      return WindowsRing.mapSection(section, 0);
    } catch (e) {
      k.CloseHandle(section);
      throw e;
    }
  }

  /**
   * Maps `bytes` of the section (0: all of it) once and checks the ring header against the
   * size actually mapped (VirtualQuery), so a header that claims more than the section holds
   * is an error, not a read past the mapping.
   */
  private static mapSection(section: number, bytes: number): WindowsRing {
    const k = k32();
    const view = k.MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, bytes);
    if (!view) throw new Error(`MapViewOfFile of the ring section failed (error ${k.GetLastError() as number})`);
    try {
      const mbi = Buffer.alloc(48); // MEMORY_BASIC_INFORMATION (x64): RegionSize at 24
      if (k.VirtualQuery(view, mbi, mbi.length) !== mbi.length) throw new Error(`VirtualQuery of the ring view failed (error ${k.GetLastError() as number})`);
      const mapped = Number(mbi.readBigUInt64LE(24));
      const total = bytes === 0 ? mapped : Math.min(bytes, mapped);
      return new WindowsRing(view, section, sectionViews(koffi.view(view, total) as ArrayBuffer));
    } catch (e) {
      k.UnmapViewOfFile(view);
      throw e;
    }
  }

  pending(): number {
    return this.walker.pending();
  }

  drain(onRecord: (rec: Buffer) => void, maxRecords = 65536): number {
    if (this.closed) return 0;
    return this.walker.drain(onRecord, maxRecords);
  }

  dropped(): bigint {
    return droppedOf(this.views);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const k = k32();
    k.UnmapViewOfFile(this.view);
    k.CloseHandle(this.section);
  }
}
