// Windows ETW sink: writes events as the manifest's provider through advapi32
// (EventRegister / EventWriteTransfer / EventUnregister) loaded with koffi.
// UNTESTED ON WINDOWS: it cannot run here. The byte marshalling (EVENT_DESCRIPTOR and the
// EVENT_DATA_DESCRIPTOR payloads of every template) is pure and unit-tested on Linux
// (test/evtx/eventlog.test.ts); the koffi binding is type-checked only. On other platforms
// open() rejects with a clear "Windows-only" error.
// The provider must be registered first: build the resource DLL from manifest/*.man with
// mc.exe/rc.exe/link.exe and run `wevtutil im manifest\sysmon-ts-windows.man /rf:DLL /mf:DLL`.
import type { Identity, SysmonEvent, FieldValue } from '../../src/events/event.js';
import { eventDef, type EventDef, type FieldType } from '../../src/events/schema.js';
import type { Sink } from '../sink.js';
import { guidBytes } from '../shared/guid.js';

/** Channel value mc.exe gives the first channel of a provider; events carry its keyword bit 63. */
export const CHANNEL_VALUE = 16;
export const CHANNEL_KEYWORD = 0x8000000000000000n;
const LEVEL: Record<EventDef['level'], number> = { Informational: 4, Error: 2 };

/** EVENT_DESCRIPTOR (16 bytes): u16 Id, u8 Version, u8 Channel, u8 Level, u8 Opcode, u16 Task, u64 Keyword. */
export function eventDescriptor(id: number): Buffer {
  const def = eventDef(id);
  const b = Buffer.alloc(16);
  b.writeUInt16LE(def.id, 0);
  b[2] = def.version;
  b[3] = CHANNEL_VALUE;
  b[4] = LEVEL[def.level];
  b[5] = 0; // win:Info
  b.writeUInt16LE(def.id, 6); // task value = event ID (manifest)
  b.writeBigUInt64LE(CHANNEL_KEYWORD, 8);
  return b;
}

/** One field's payload bytes, as the manifest's inType expects them. */
export function fieldPayload(type: FieldType, v: FieldValue | undefined): Buffer {
  const str = (s: string) => Buffer.from(`${s}\0`, 'utf16le');
  switch (type) {
    case 'UnicodeString':
      return str(v === undefined ? '-' : String(v));
    case 'GUID':
      return guidBytes(String(v ?? '')) ?? Buffer.alloc(16);
    case 'UInt16': {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(Number(v ?? 0) & 0xffff);
      return b;
    }
    case 'UInt32': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(Number(v ?? 0) >>> 0);
      return b;
    }
    case 'HexInt32': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(Number(typeof v === 'string' ? BigInt(v) : (v ?? 0)) >>> 0);
      return b;
    }
    case 'UInt64':
    case 'HexInt64': {
      const b = Buffer.alloc(8);
      let n = 0n;
      try {
        n = BigInt(typeof v === 'boolean' ? 0 : (v ?? 0));
      } catch {
        n = 0n;
      }
      b.writeBigUInt64LE(BigInt.asUintN(64, n));
      return b;
    }
    case 'Boolean': {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v === true ? 1 : 0);
      return b;
    } // win:Boolean is a 4-byte BOOL
  }
}

/** Every field's payload in template order. */
export function marshalEvent(ev: SysmonEvent): Buffer[] {
  return eventDef(ev.id).fields.map((f) => fieldPayload(f.type, ev.data[f.name]));
}

/** EVENT_DATA_DESCRIPTOR array bytes (16 B each: u64 Ptr, u32 Size, u32 Reserved) for given payload addresses. */
export function dataDescriptors(payloads: Buffer[], addresses: bigint[]): Buffer {
  const b = Buffer.alloc(16 * payloads.length);
  payloads.forEach((p, i) => {
    b.writeBigUInt64LE(addresses[i]!, 16 * i);
    b.writeUInt32LE(p.length, 16 * i + 8);
  });
  return b;
}

interface Advapi {
  register(guid: Buffer): bigint;
  write(handle: bigint, descriptor: Buffer, payloads: Buffer[]): number;
  unregister(handle: bigint): void;
}

async function loadAdvapi(): Promise<Advapi> {
  const koffi = (await import('koffi')).default;
  const lib = koffi.load('advapi32.dll');
  const DataDesc = koffi.struct('EVENT_DATA_DESCRIPTOR', { Ptr: 'const void *', Size: 'uint32_t', Reserved: 'uint32_t' });
  const EventRegister = lib.func('uint32_t __stdcall EventRegister(const uint8_t *ProviderId, void *Callback, void *Context, _Out_ uint64_t *RegHandle)');
  const EventWriteTransfer = lib.func(
    'uint32_t __stdcall EventWriteTransfer(uint64_t RegHandle, const uint8_t *EventDescriptor, const uint8_t *ActivityId, const uint8_t *RelatedActivityId, uint32_t UserDataCount, EVENT_DATA_DESCRIPTOR *UserData)',
  );
  const EventUnregister = lib.func('uint32_t __stdcall EventUnregister(uint64_t RegHandle)');
  void DataDesc;
  return {
    register(guid) {
      const out = [0n];
      const rc = EventRegister(guid, null, null, out) as number;
      if (rc !== 0) throw new Error(`EventRegister failed: ${rc}`);
      return BigInt(out[0]!);
    },
    write(handle, descriptor, payloads) {
      const descs = payloads.map((p) => ({ Ptr: p, Size: p.length, Reserved: 0 }));
      return EventWriteTransfer(handle, descriptor, null, null, descs.length, descs) as number;
    },
    unregister(handle) {
      EventUnregister(handle);
    },
  };
}

/** The ETW sink (Windows only). write() resolves once ETW accepted every event of the batch. */
export function createEventLogSink(identity: Identity): Sink {
  let api: Advapi | null = null;
  let handle = 0n;
  return {
    name: 'eventlog',
    async open() {
      if (process.platform !== 'win32') throw new Error('the eventlog (ETW) sink is Windows-only; use the evtx sink to write .evtx files on this platform');
      const guid = guidBytes(identity.providerGuid);
      if (!guid) throw new Error(`bad provider GUID ${identity.providerGuid}`);
      api = await loadAdvapi();
      handle = api.register(guid);
    },
    async write(batch) {
      if (!api) throw new Error('eventlog sink is not open');
      for (const ev of batch) {
        const rc = api.write(handle, eventDescriptor(ev.id), marshalEvent(ev));
        if (rc !== 0) throw new Error(`EventWriteTransfer failed for record ${ev.recordId}: ${rc}`);
      }
    },
    async close() {
      if (api && handle) api.unregister(handle);
      api = null;
      handle = 0n;
    },
  };
}
