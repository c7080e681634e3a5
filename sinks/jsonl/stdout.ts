// JSONL to stdout (or any Writable): one batch = one write; write() resolves when the stream
// has taken the data (its callback) and waits for 'drain' when the stream pushes back, so a
// slow reader (`sysmon-ts run --jsonl - | vector`) slows the sink instead of growing memory.
import type { Writable } from 'node:stream';
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import type { Sink } from '../sink.js';
import { defaultIdentity, lineEncoder, type JsonlFormat } from './config.js';

export interface StdoutSinkOptions {
  identity?: Identity;
  /** default process.stdout */
  stream?: Writable;
  /** 'jsonl' (default) or 'ecs' */
  format?: JsonlFormat;
}

export function createStdoutSink(opts: StdoutSinkOptions = {}): Sink {
  const identity = opts.identity ?? defaultIdentity();
  const stream = opts.stream ?? process.stdout;
  const encode = lineEncoder(opts.format);
  let failed: Error | null = null;
  const onError = (err: Error) => {
    failed = err;
  };
  return {
    name: 'jsonl-stdout',
    async open() {
      stream.on('error', onError);
    },
    async write(batch: readonly SysmonEvent[]) {
      if (failed) throw failed;
      if (batch.length === 0) return;
      let text = '';
      for (const ev of batch) text += encode(ev, identity);
      await new Promise<void>((resolve, reject) => {
        let written = false;
        let drained = true;
        const done = () => {
          if (written && drained) resolve();
        };
        const ok = stream.write(text, (err) => {
          if (err) {
            reject(err);
            return;
          }
          written = true;
          done();
        });
        if (!ok) {
          drained = false;
          stream.once('drain', () => {
            drained = true;
            done();
          });
        }
      });
    },
    async close() {
      stream.off('error', onError);
    },
  };
}
