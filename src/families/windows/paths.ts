// Windows names as the kernel holds them -> as Sysmon prints them.
// Files: NT paths (\Device\HarddiskVolume3\Windows\cmd.exe) -> drive-letter paths
// (C:\Windows\cmd.exe) through a device map (QueryDosDeviceW on Windows, given by the tests).
// Registry: \REGISTRY\MACHINE\... -> HKLM\..., the form Sysmon uses since schema 3.30.

/** NT device name (\Device\HarddiskVolume3) -> DOS drive ("C:"), compared case-insensitively. */
export class DeviceMap {
  private readonly byDevice = new Map<string, string>();

  constructor(
    drives: Iterable<[drive: string, device: string]> = [],
    readonly systemRoot = 'C:\\Windows',
  ) {
    for (const [drive, device] of drives) this.byDevice.set(device.toLowerCase().replace(/\\+$/, ''), drive.replace(/\\+$/, ''));
  }

  get size(): number {
    return this.byDevice.size;
  }

  /** An NT path as a DOS path; a name on no mapped device is returned unchanged. */
  dosPath(nt: string): string {
    if (nt === '') return '-';
    // \??\C:\x and \DosDevices\C:\x already name the drive (service image paths, renames)
    const dos = /^\\(?:\?\?|DosDevices|GLOBAL\?\?)\\([A-Za-z]:(?:\\.*)?)$/is.exec(nt);
    if (dos) return dos[1]!;
    if (/^\\SystemRoot(\\|$)/i.test(nt)) return this.systemRoot + nt.slice('\\SystemRoot'.length);
    // the device is the first two components: \Device\HarddiskVolume3
    const end = nt.indexOf('\\', nt.indexOf('\\', 1) + 1);
    const device = (end < 0 ? nt : nt.slice(0, end)).toLowerCase();
    const drive = this.byDevice.get(device);
    if (drive === undefined) return nt;
    return drive + (end < 0 ? '\\' : nt.slice(end));
  }
}

/** A stream's TargetFilename as Sysmon prints it: a.txt:Zone.Identifier (no :$DATA). */
export function streamName(path: string): string {
  return path.replace(/:\$DATA$/i, '');
}

// Longest prefixes first: HKCR is a part of HKLM, CurrentControlSet a part of SYSTEM.
const REGISTRY_ROOTS: readonly [RegExp, string][] = [
  [/^\\REGISTRY\\MACHINE\\SOFTWARE\\Classes(?=\\|$)/i, 'HKCR'],
  // Sysmon names the current control set (almost always ControlSet001) CurrentControlSet,
  // which is how configs (HKLM\SYSTEM\CurrentControlSet\Services\...) and Sigma match it
  [/^\\REGISTRY\\MACHINE\\(SYSTEM)\\ControlSet001(?=\\|$)/i, 'HKLM\\$1\\CurrentControlSet'],
  [/^\\REGISTRY\\MACHINE(?=\\|$)/i, 'HKLM'],
  [/^\\REGISTRY\\USER(?=\\|$)/i, 'HKU'],
];

/** \REGISTRY\MACHINE\SOFTWARE\x -> HKLM\SOFTWARE\x; an unknown root is left as the kernel named it. */
export function registryPath(key: string): string {
  for (const [re, root] of REGISTRY_ROOTS) {
    const m = re.exec(key);
    if (m) return key.replace(re, root);
  }
  return key;
}

/** TargetObject of a value: key\value, the unnamed value being "(Default)" as in Sysmon. */
export function registryValuePath(key: string, value: string): string {
  return `${registryPath(key)}\\${value === '' ? '(Default)' : value}`;
}
