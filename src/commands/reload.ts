// Asking the running agent to re-read its config. Linux: SIGHUP, which the agent handles. On
// Windows there are no signals: Node's process.kill(pid, 'SIGHUP') there terminates the
// process abruptly (no drain, no event 4), so it is never sent; the admin restarts the service.
import { cliPlatform } from '../platform-paths.js';
import { WINDOWS_SERVICE } from './install-windows.js';

export type ReloadResult = { signalled: true } | { signalled: false; howTo: string };

export function requestReload(
  pid: number,
  platform: NodeJS.Platform | string = process.platform,
  kill: (pid: number, signal: NodeJS.Signals) => void = process.kill,
): ReloadResult {
  if (cliPlatform(platform) === 'win32') {
    return {
      signalled: false,
      howTo: `Windows has no SIGHUP: restart sysmon-ts (pid ${pid}) with this config to apply it (the installed service: sc.exe stop ${WINDOWS_SERVICE} && sc.exe start ${WINDOWS_SERVICE})`,
    };
  }
  kill(pid, 'SIGHUP');
  return { signalled: true };
}
