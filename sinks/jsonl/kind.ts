// jsonl:PATH | jsonl:- : the JSONL file sink (rotating, reopened on SIGHUP) or stdout.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SinkKind } from '../sink.js';
import { createJsonlFileSink } from './file.js';
import { createStdoutSink } from './stdout.js';
import { numberOption } from '../spec-options.js';

export const jsonlSink: SinkKind = {
  kind: 'jsonl',
  usage: 'jsonl:PATH[?max-mb=N&rotate-hours=H&max-files=N&format=jsonl|ecs] or jsonl:- (stdout)',
  options: {
    'max-mb': 'rotate when the file would pass N MB',
    'rotate-hours': 'rotate every H hours (0: never)',
    'max-files': 'rotated files kept',
    format: 'jsonl (Sysmon fields, default) or ecs (Elastic Common Schema names)',
  },
  outputPath: (where) => (where === '-' ? null : resolve(where)),
  create(where, o, ctx) {
    const format = o.get('format') ?? 'jsonl';
    if (format !== 'jsonl' && format !== 'ecs') throw new Error(`jsonl: format=${format}: must be jsonl or ecs`);
    if (where === '-') return createStdoutSink({ identity: ctx.identity, format });
    const path = resolve(where);
    // the sink itself refuses symlinked directories; only create a missing parent here
    if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    const maxMb = numberOption(o, 'max-mb', 'jsonl');
    const hours = numberOption(o, 'rotate-hours', 'jsonl');
    return createJsonlFileSink(path, {
      identity: ctx.identity,
      maxBytes: maxMb === undefined ? undefined : maxMb * 1024 * 1024,
      rotateEveryMs: (hours ?? 0) * 3_600_000,
      maxFiles: numberOption(o, 'max-files', 'jsonl'),
      format,
    });
  },
};
