// Where things live by default: Sysmon-like system paths when installed as root, by platform
// (src/platform-paths.ts: /var/lib, /var/log, /run on Linux; %ProgramData%\sysmon-ts on Windows).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPaths } from './platform-paths.js';
import { AGENT_NODE_FLAGS } from './agent-node-flags.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The checkout: src/.. when run from sources (tsx), dist/src/../.. when run compiled. */
export const ROOT = existsSync(join(HERE, '..', 'package.json')) ? join(HERE, '..') : join(HERE, '..', '..');
/** The agent compiled by driver/setup.sh (`npm start`, the installed service run it). */
export const COMPILED_CLI = join(ROOT, 'dist', 'src', 'cli.js');

/** How to run this checkout's CLI: compiled when built, else the sources through tsx. */
export function cliCommand(): string[] {
  return existsSync(COMPILED_CLI)
    ? [process.execPath, ...AGENT_NODE_FLAGS, COMPILED_CLI]
    : [process.execPath, ...AGENT_NODE_FLAGS, '--import', 'tsx', join(ROOT, 'src', 'cli.ts')];
}
/** Where `make -C driver/linux` puts the BPF objects (the list: src/driver-objects.ts, from the families). */
export const DRIVER_OBJECTS_DIR = join(ROOT, 'driver', 'linux', '.output');
export const BUNDLED_CONFIG = join(ROOT, 'src', 'config', 'default.xml');
const DEFAULTS = defaultPaths(process.platform, process.env);
export const DATA_DIR = DEFAULTS.dataDir;
export const JOURNAL_DIR = DEFAULTS.journalDir;
export const LOG_DIR = DEFAULTS.logDir;
export const DEFAULT_JSONL = DEFAULTS.jsonl;
export const RUN_DIR = DEFAULTS.runDir;
/** The running agent writes {pid, config, journal} here so `-c` and `status` can find it. */
export const STATE_FILE = DEFAULTS.stateFile;
