// `sysmon-ts replay --from ID [--to ID] --sink ...`: re-send a range of the journal to a sink
// (e.g. to backfill a SIEM). Reads the journal directory directly, so it works while the agent
// runs (it sees what was on disk when it started) and does not touch any sink's cursor.
import type { Sink } from '../../sinks/sink.js';
import { readJournalBatches } from '../journal/reader.js';

export interface ReplayOptions {
  journalDir: string;
  /** first EventRecordID to send */
  from: number;
  /** last EventRecordID to send, inclusive (default: the last one on disk) */
  to?: number;
  sink: Sink;
  /** events per write() (default 1000) */
  batch?: number;
  /** attempts per batch before giving up (default 5, backoff 200 ms doubling) */
  attempts?: number;
}

/** Sends every journal event with from <= EventRecordID <= to to the sink; returns how many. */
export async function runReplay(opts: ReplayOptions): Promise<number> {
  const attempts = opts.attempts ?? 5;
  let sent = 0;
  await opts.sink.open();
  try {
    for await (const batch of readJournalBatches(opts.journalDir, { from: opts.from, to: opts.to, batch: opts.batch ?? 1000 })) {
      let delay = 200;
      for (let i = 1; ; i++) {
        try {
          await opts.sink.write(batch);
          break;
        } catch (e) {
          if (i >= attempts) throw new Error(`replay: sink ${opts.sink.name} failed at EventRecordID ${batch[0]!.recordId}: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, delay));
          delay *= 2;
        }
      }
      sent += batch.length;
    }
  } finally {
    await opts.sink.close();
  }
  return sent;
}
