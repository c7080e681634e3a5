// SPDX-License-Identifier: MIT
/*
 * CRC32C (Castagnoli) for the journal's record checksums (src/journal/crc32c.ts calls it
 * through koffi). JavaScript's slice-by-8 runs at ~1.3 bytes/ns, so a 650-byte NetworkConnect
 * record cost ~500 ns, a tenth of the agent's CPU per connect; the SSE4.2 crc32 instruction
 * does 8 bytes per instruction (~136 ns per such record, the call included).
 * Same function as the JavaScript one: reflected polynomial 0x82F63B78, chainable
 * (sts_crc32c(b, sts_crc32c(a)) == crc of a ++ b), initial and final complement.
 * CPUs without SSE4.2 (and other architectures) take a table-driven slice-by-8 here too.
 */
#include <stdint.h>
#include <string.h>

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static int have_hw;

/* at dlopen, before any call: no call ever races the tables' initialisation */
__attribute__((constructor)) static void init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
#if defined(__x86_64__)
	__builtin_cpu_init();
	have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
	have_hw = 0;
#endif
}

static uint32_t soft(uint32_t c, const uint8_t *p, const uint8_t *e)
{
	while (e - p >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
	}
	while (p < e)
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t hw(uint32_t crc, const uint8_t *p, const uint8_t *e)
{
	uint64_t c = crc;
	while (p < e && ((uintptr_t)p & 7))
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	while (e - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
	}
	while (p < e)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

/* CRC32C of buf[start, end), continuing from `crc` (0 to start). */
uint32_t sts_crc32c(const uint8_t *buf, uint32_t crc, uint32_t start, uint32_t end)
{
	if (end <= start)
		return crc;
	uint32_t c = ~crc;
#if defined(__x86_64__)
	if (have_hw)
		return ~hw(c, buf + start, buf + end);
#endif
	return ~soft(c, buf + start, buf + end);
}

/* 1 when sts_crc32c uses the CPU's crc32 instruction (for the agent's start-up log and tests). */
int sts_crc32c_hardware(void)
{
	return have_hw;
}
