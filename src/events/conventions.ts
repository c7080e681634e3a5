// Whose value conventions the Linux normalizers follow: Sysmon for Linux's (the default) or,
// with --windows, Windows Sysmon's. Set once by the agent from the command line; read by the
// normalizers per event (a property read, no allocation).
//   field              linux (Sysmon for Linux)               windows (Windows Sysmon)
//   LogonId            decimal real uid & 0xffff: 0, 1000      hex of the audit login uid: 0x3e8
//   TerminalSessionId  audit session; 4294967295 when unset    audit session; 0 when unset
//   *PortName          '-' (SFL never resolves)                /etc/services name
export type Provider = 'linux' | 'windows';

export const conventions = { provider: 'linux' as Provider };

export function setConventions(provider: Provider): void {
  conventions.provider = provider;
}
