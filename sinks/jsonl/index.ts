// JSONL sinks: a file (rotation, reopen on SIGHUP, exactly-once) or stdout.
export { createJsonlFileSink, reopenOnSighup, type JsonlFileSink } from './file.js';
export { createStdoutSink, type StdoutSinkOptions } from './stdout.js';
export type { JsonlFileOptions, JsonlFormat } from './config.js';
export { encodeEcs, parseHashes } from './ecs.js';
export { encodeJsonl, eventFromJson } from '../shared/jsonl-encode.js';
