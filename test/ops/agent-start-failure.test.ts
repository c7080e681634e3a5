// The BPF objects load while the agent compiles its config and opens its journal: a load that
// fails meanwhile (here the required object is missing) is the start's error, reported by
// agent.start(), not an unhandled rejection that ends the process before anything is said.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import pino from 'pino';
import { Agent } from '../../src/agent.js';
import { makeIdentity } from '../../src/events/event.js';

it("a BPF load that fails while the journal opens rejects start() with the loader's error", {
  skip: process.platform !== 'linux' && 'Linux (libbpf) only',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-start-'));
  try {
    const agent = new Agent({
      objects: [join(dir, 'missing', 'process.bpf.o')],
      journalDir: join(dir, 'journal'),
      identity: makeIdentity(false, 'test-host'),
      sinks: [],
      logger: pino({ level: 'silent' }),
      statsEveryMs: 0,
    });
    await assert.rejects(agent.start(), /BPF object .*process\.bpf\.o not found/);
    await agent.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
