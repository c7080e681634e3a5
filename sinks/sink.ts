// The one interface every sink implements (Vector-style: config + encoder + this).
// The journal fan-out calls write() with batches in EventRecordID order and advances the
// sink's durable cursor only after write() resolves, so write() must resolve only once the
// batch is delivered (written and flushed, sent and accepted), and reject to ask for a retry.
import type { SysmonEvent } from '../src/events/event.js';

export interface Sink {
  /** short stable name, used for its cursor file and stats ("jsonl", "syslog", ...) */
  readonly name: string;
  open(): Promise<void>;
  write(batch: readonly SysmonEvent[]): Promise<void>;
  close(): Promise<void>;
}
