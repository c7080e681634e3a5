#!/usr/bin/env python3
"""Writes the PE optional header's CheckSum (the ImageHlp CheckSumMappedFile algorithm).
The Windows loader checks it for kernel-mode images; GNU ld leaves it 0."""
import struct
import sys

path = sys.argv[1]
data = bytearray(open(path, 'rb').read())
pe = struct.unpack_from('<I', data, 0x3C)[0]
assert data[pe:pe + 4] == b'PE\0\0', 'not a PE image'
at = pe + 4 + 20 + 64          # signature, file header, then CheckSum at +64 of the optional header
struct.pack_into('<I', data, at, 0)
total = 0
padded = data + b'\0' * (len(data) & 1)
for (word,) in struct.iter_unpack('<H', padded):
    total += word
    total = (total & 0xFFFF) + (total >> 16)
total = (total & 0xFFFF) + (total >> 16)
struct.pack_into('<I', data, at, (total + len(data)) & 0xFFFFFFFF)
open(path, 'wb').write(data)
