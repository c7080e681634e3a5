// The agent's node flags (src/agent-node-flags.ts) are what `npm start` and the systemd unit
// pass, and what the bench starts each checkout's agent with: one list, checked here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { AGENT_NODE_FLAGS } from '../../src/agent-node-flags.js';
import { cliCommand, ROOT } from '../../src/paths.js';
import { startFlags } from '../../bench/live.js';

it("npm start, the service command line and the bench pass the agent's node flags", () => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  assert.deepEqual(startFlags(ROOT), [...AGENT_NODE_FLAGS], `package.json start: ${start}`);
  const cmd = cliCommand();
  for (const f of AGENT_NODE_FLAGS) assert.ok(cmd.slice(1).includes(f), `${f} in ${cmd.join(' ')}`);
  assert.ok(cmd.indexOf(AGENT_NODE_FLAGS[0]!) < cmd.findIndex((a) => a.endsWith('cli.js') || a.endsWith('cli.ts')), 'node flags come before the script');
});
