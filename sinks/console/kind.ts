// console[:stdout] : one human-readable line per event on the terminal (stderr by default).
import type { SinkKind } from '../sink.js';
import { createConsoleSink } from './index.js';

export const consoleSink: SinkKind = {
  kind: 'console',
  usage: 'console (stderr) or console:stdout',
  options: {},
  create(where) {
    if (where !== '' && where !== 'stderr' && where !== 'stdout') throw new Error(`console:${where}: use console, console:stderr or console:stdout`);
    return createConsoleSink(where === 'stdout' ? process.stdout : process.stderr);
  },
};
