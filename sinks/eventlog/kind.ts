// etw : the Windows Event Log through ETW, with the generated instrumentation manifest.
import type { SinkKind } from '../sink.js';
import { createEventLogSink } from './etw.js';

export const etwSink: SinkKind = {
  kind: 'etw',
  usage: "etw (Windows only: events to the Event Log through the installed manifest's provider)",
  options: {},
  create(where, _o, ctx) {
    if (where !== '') throw new Error(`etw takes no argument (got "${where}")`);
    return createEventLogSink(ctx.identity);
  },
};
