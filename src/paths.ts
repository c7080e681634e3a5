// Where things live by default: Sysmon-like system paths when installed as root.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DRIVER_OBJECTS_DIR = join(ROOT, 'driver', 'linux', '.output');
export const DRIVER_OBJECTS = ['process.bpf.o', 'network.bpf.o', 'file.bpf.o', 'security.bpf.o', 'image.bpf.o', 'dns.bpf.o', 'iouring.bpf.o'].map((f) => join(DRIVER_OBJECTS_DIR, f));
export const BUNDLED_CONFIG = join(ROOT, 'src', 'config', 'default.xml');
export const DATA_DIR = process.env.SYSMON_TS_DATA_DIR ?? '/var/lib/sysmon-ts';
export const JOURNAL_DIR = join(DATA_DIR, 'journal');
export const LOG_DIR = process.env.SYSMON_TS_LOG_DIR ?? '/var/log/sysmon-ts';
export const DEFAULT_JSONL = join(LOG_DIR, 'events.jsonl');
export const RUN_DIR = process.env.SYSMON_TS_RUN_DIR ?? '/run/sysmon-ts';
/** The running agent writes {pid, config, journal} here so `-c` and `status` can find it. */
export const STATE_FILE = join(RUN_DIR, 'agent.json');
