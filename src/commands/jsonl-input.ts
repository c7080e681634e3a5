// Recorded JSONL read back (filter, convert): split into lines by readline, so a malformed
// line costs only itself and keeps its number, and each line parsed by stream-json's JSONL
// parser, the reader docs/outputs.md names for this format.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { jsonlParser } from 'stream-json/jsonl/parser.js';

export type JsonlItem = { line: number; value: Record<string, unknown> } | { line: number; error: string };

const BAD = Symbol('bad line');

/** Each non-blank line: its parsed object, or why it is not one. */
export async function* readJsonlLines(input: NodeJS.ReadableStream): AsyncGenerator<JsonlItem> {
  const parseLine = jsonlParser({ errorIndicator: (e: unknown) => ({ [BAD]: e }) });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of rl) {
    line++;
    if (text.trim() === '') continue;
    const item = parseLine(text);
    if (typeof item === 'symbol') continue;
    const value = item.value as Record<string | symbol, unknown> | null;
    if (value !== null && typeof value === 'object' && BAD in value) {
      const e = value[BAD];
      yield { line, error: e instanceof Error ? e.message : String(e) };
    } else if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, error: 'not a JSON object' };
    } else {
      yield { line, value: value as Record<string, unknown> };
    }
  }
}

/** A file opened for reading, or the reason it cannot be (before any line is read). */
export async function openInput(path: string): Promise<NodeJS.ReadableStream> {
  const s = createReadStream(path);
  const opened = await new Promise<Error | null>((resolve) => {
    s.once('open', () => resolve(null));
    s.once('error', (e) => resolve(e));
  });
  if (opened) throw new Error(`cannot read ${path}: ${opened.message}`);
  return s;
}
