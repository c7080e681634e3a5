// The Windows family: the records of the Windows driver (driver/windows; events.h records
// 200-239, and the Linux records 3, 40, 41, 44 whose fields carry over) -> Sysmon events with
// Windows Sysmon's formats. One driver registers every callback at load: no objects or
// programs to choose. Its handlers keep their own process table (no /proc), so they are made
// per capture over the host facts (`bind`, src/platform/windows.ts).
import { windowsFamily } from '../descriptor.js';
import { windowsCapture } from './handlers.js';
import type { WindowsHostFacts } from './host-facts.js';
import { WINDOWS_FAMILY_DECODERS } from './records.js';

export const family = windowsFamily({
  name: 'windows',
  platform: 'win32',
  structs: ['win_process_record', 'win_image_record', 'win_file_record', 'win_reg_record', 'win_stack_record', 'win_ring_producer', 'win_ring_info'],
  decoders: WINDOWS_FAMILY_DECODERS,
  bind: (facts: WindowsHostFacts) => {
    const c = windowsCapture(facts);
    return { state: c.processes, handlers: c.handlers };
  },
});
