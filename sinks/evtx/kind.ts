// evtx:PATH : Windows Event Log files, rotated by size.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SinkKind } from '../sink.js';
import { numberOption } from '../spec-options.js';
import { createEvtxSink } from './writer.js';

export const evtxSink: SinkKind = {
  kind: 'evtx',
  usage: 'evtx:PATH[?max-mb=N]',
  options: { 'max-mb': 'rotate the file at N MB (default 64)' },
  outputPath: (where) => resolve(where),
  create(where, o, ctx) {
    const path = resolve(where);
    if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    return createEvtxSink(path, { identity: ctx.identity, maxBytes: (numberOption(o, 'max-mb', 'evtx') ?? 64) * 1024 * 1024 });
  },
};
