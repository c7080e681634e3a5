// NT names -> the names Sysmon prints, at the edges the pipeline test does not reach.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceMap, registryPath, registryValuePath, streamName } from '../../src/families/windows/paths.js';
import { callTrace, integrityLevel, registryDetails } from '../../src/families/windows/formats.js';
import { machineWord } from '../../src/families/windows/host-facts.js';

describe('Windows names and formats', () => {
  const devices = new DeviceMap(
    [
      ['C:', '\\Device\\HarddiskVolume3\\'],
      ['E:', '\\Device\\CdRom0'],
    ],
    'D:\\WINNT',
  );

  it('maps NT file names to drive letters', () => {
    assert.equal(devices.dosPath('\\Device\\HarddiskVolume3\\Windows\\a.exe'), 'C:\\Windows\\a.exe');
    assert.equal(devices.dosPath('\\device\\harddiskvolume3\\x'), 'C:\\x'); // devices compare case-insensitively
    assert.equal(devices.dosPath('\\Device\\HarddiskVolume3'), 'C:\\'); // the volume itself
    assert.equal(devices.dosPath('\\Device\\HarddiskVolume31\\x'), '\\Device\\HarddiskVolume31\\x'); // not a prefix match
    assert.equal(devices.dosPath('\\Device\\Mup\\server\\share\\f'), '\\Device\\Mup\\server\\share\\f'); // unmapped: unchanged
    assert.equal(devices.dosPath('\\??\\C:\\Windows\\x.sys'), 'C:\\Windows\\x.sys');
    assert.equal(devices.dosPath('\\SystemRoot\\System32\\drivers\\x.sys'), 'D:\\WINNT\\System32\\drivers\\x.sys');
    assert.equal(devices.dosPath('\\SystemRootX\\y'), '\\SystemRootX\\y');
    assert.equal(devices.dosPath(''), '-');
    assert.equal(streamName('C:\\a.txt:Zone.Identifier:$DATA'), 'C:\\a.txt:Zone.Identifier');
    assert.equal(streamName('C:\\a.txt:$DATA.txt'), 'C:\\a.txt:$DATA.txt');
  });

  it('maps registry roots as Sysmon does', () => {
    assert.equal(registryPath('\\REGISTRY\\MACHINE'), 'HKLM');
    assert.equal(registryPath('\\Registry\\Machine\\Software\\Classes\\.txt'), 'HKCR\\.txt');
    assert.equal(registryPath('\\REGISTRY\\MACHINE\\SOFTWARE\\ClassesX'), 'HKLM\\SOFTWARE\\ClassesX');
    assert.equal(registryPath('\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001'), 'HKLM\\SYSTEM\\CurrentControlSet');
    assert.equal(registryPath('\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet002\\x'), 'HKLM\\SYSTEM\\ControlSet002\\x');
    assert.equal(registryPath('\\REGISTRY\\USER\\S-1-5-21-9_Classes\\x'), 'HKU\\S-1-5-21-9_Classes\\x');
    assert.equal(registryPath('\\REGISTRY\\A\\{guid}\\x'), '\\REGISTRY\\A\\{guid}\\x'); // app hives: as the kernel names them
    assert.equal(registryValuePath('\\REGISTRY\\USER\\.DEFAULT', ''), 'HKU\\.DEFAULT\\(Default)');
  });

  it('formats registry data, integrity levels, call traces and the machine word', () => {
    assert.equal(registryDetails(4, Buffer.from([0xff, 0xff, 0xff, 0xff])), 'DWORD (0xffffffff)');
    assert.equal(registryDetails(5, Buffer.from([0, 0, 1, 2])), 'DWORD (0x00000102)');
    assert.equal(registryDetails(4, Buffer.from([1, 2])), 'Binary Data'); // too short for a DWORD
    assert.equal(registryDetails(11, Buffer.alloc(4)), 'Binary Data');
    assert.equal(registryDetails(1, Buffer.from('a\0b', 'utf16le')), 'a'); // up to the first NUL
    assert.equal(registryDetails(1, Buffer.from([0x61, 0, 0x62])), 'a'); // odd byte dropped
    assert.equal(registryDetails(7, Buffer.from('a\0b\0\0', 'utf16le')), 'Binary Data');
    assert.deepEqual([0, 0x1000, 0x1fff, 0x2000, 0x2100, 0x3000, 0x4000, 0x5000, 0xffffffff].map(integrityLevel), [
      'Untrusted',
      'Low',
      'Low',
      'Medium',
      'Medium',
      'High',
      'System',
      'System',
      '-',
    ]);
    const mods = [{ base: 0x1000n, size: 0x100n, path: 'C:\\a.dll' }];
    assert.equal(callTrace([0x1000n, 0x10ffn, 0x1100n], mods), 'C:\\a.dll+0|C:\\a.dll+ff|UNKNOWN(0000000000001100)');
    assert.equal(callTrace([], mods), '-');
    assert.equal(machineWord('{94F748D5-0C1E-4B7A-9F00-6D2B1E0A7C11}'), 0x94f748d5);
    assert.equal(machineWord(''), 0);
  });
});
