// Runs under Wine's node.exe (test/windows/wine-*.test.ts): plays the driver's part of the
// ring hand-over. For each NAME IMAGE pair it creates a named, pagefile-backed section as
// driver/windows/ring.c does (CreateFileMappingW instead of ZwCreateSection) and copies the
// ring image into it: header page, producer page and records in the ring format, built on
// Linux by the tests' port of RingOutput (test/windows/ring-producer.ts). Then it writes
// "ready" to READY-FILE and keeps the sections alive until STOP-FILE exists. (Files, not
// stdio: node.exe under Wine 8 fails to open a Linux pipe as its stdout, EBADF.)
// Usage: node.exe ring-harness.mjs READY-FILE STOP-FILE NAME IMAGE-FILE [NAME IMAGE-FILE...]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import koffi from 'koffi';

const [readyFile, stopFile, ...pairs] = process.argv.slice(2);
if (!readyFile || !stopFile || pairs.length === 0 || pairs.length % 2) {
  process.stderr.write('usage: ring-harness.mjs READY-FILE STOP-FILE NAME IMAGE-FILE [NAME IMAGE-FILE...]\n');
  process.exit(2);
}
const k32 = koffi.load('kernel32.dll');
const CreateFileMappingW = k32.func('__stdcall', 'CreateFileMappingW', 'intptr_t', ['intptr_t', 'void *', 'uint32_t', 'uint32_t', 'uint32_t', 'str16']);
const MapViewOfFile = k32.func('__stdcall', 'MapViewOfFile', 'void *', ['intptr_t', 'uint32_t', 'uint32_t', 'uint32_t', 'size_t']);
const GetLastError = k32.func('__stdcall', 'GetLastError', 'uint32_t', []);
const INVALID_HANDLE_VALUE = -1, PAGE_READWRITE = 0x04, FILE_MAP_WRITE = 0x2;

const ready = [];
for (let i = 0; i < pairs.length; i += 2) {
  const [name, imageFile] = [pairs[i], pairs[i + 1]];
  const image = readFileSync(imageFile);
  const section = CreateFileMappingW(INVALID_HANDLE_VALUE, null, PAGE_READWRITE, 0, image.length, name);
  if (!section) throw new Error(`CreateFileMappingW(${name}) failed (error ${GetLastError()})`);
  const view = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, image.length);
  if (!view) throw new Error(`MapViewOfFile(${name}) failed (error ${GetLastError()})`);
  new Uint8Array(koffi.view(view, image.length)).set(image);
  ready.push(`${name} ${image.length}`);
}
writeFileSync(readyFile, `${ready.join('\n')}\n`);
setInterval(() => { if (existsSync(stopFile)) process.exit(0); }, 100);
