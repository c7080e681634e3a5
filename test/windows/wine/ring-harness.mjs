// Runs under Wine's node.exe (test/windows/wine-agent.test.ts): plays the driver's part of the
// ring hand-over. Creates a named, pagefile-backed section as driver/windows/ring.c does
// (CreateFileMappingW instead of ZwCreateSection), copies a ring image into it (the header
// page, the producer page and records in the ring format, built on Linux by the tests' port of
// RingOutput), prints "ready <name> <bytes>" and keeps the section alive until stdin closes.
// Usage: node.exe ring-harness.mjs SECTION-NAME IMAGE-FILE
import { readFileSync } from 'node:fs';
import koffi from 'koffi';

const [name, imageFile] = process.argv.slice(2);
if (!name || !imageFile) {
  process.stderr.write('usage: ring-harness.mjs SECTION-NAME IMAGE-FILE\n');
  process.exit(2);
}
const image = readFileSync(imageFile);
const k32 = koffi.load('kernel32.dll');
const CreateFileMappingW = k32.func('__stdcall', 'CreateFileMappingW', 'intptr_t', ['intptr_t', 'void *', 'uint32_t', 'uint32_t', 'uint32_t', 'str16']);
const MapViewOfFile = k32.func('__stdcall', 'MapViewOfFile', 'void *', ['intptr_t', 'uint32_t', 'uint32_t', 'uint32_t', 'size_t']);
const GetLastError = k32.func('__stdcall', 'GetLastError', 'uint32_t', []);
const INVALID_HANDLE_VALUE = -1, PAGE_READWRITE = 0x04, FILE_MAP_WRITE = 0x2;

const section = CreateFileMappingW(INVALID_HANDLE_VALUE, null, PAGE_READWRITE, 0, image.length, name);
if (!section) throw new Error(`CreateFileMappingW(${name}) failed (error ${GetLastError()})`);
const view = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, image.length);
if (!view) throw new Error(`MapViewOfFile failed (error ${GetLastError()})`);
new Uint8Array(koffi.view(view, image.length)).set(image);
process.stdout.write(`ready ${name} ${image.length}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
