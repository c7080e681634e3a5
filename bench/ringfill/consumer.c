/* The physical reference for the ring reader: libbpf's ring_buffer API draining a full ring
 * filled by ringfill.bpf.o. Usage: consumer OBJ ROUNDS. Prints records/s (walk + read type/seq). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long sum, n;
static int cb(void *ctx, void *data, size_t len) {
	(void)ctx;
	const unsigned char *d = data;
	sum += d[0] | (d[1] << 8); /* read the type, like a dispatcher would */
	sum += len;
	n++;
	return 0;
}
static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
	if (argc < 3) return 2;
	int rounds = atoi(argv[2]);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
	int prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "fill"));
	int map = bpf_object__find_map_fd_by_name(obj, "events");
	struct ring_buffer *rb = ring_buffer__new(map, cb, NULL, NULL);
	if (!rb) { fprintf(stderr, "ring_buffer__new failed\n"); return 1; }
	double busy = 0;
	unsigned long long total = 0;
	for (int r = 0; r < rounds; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o);
		if (bpf_prog_test_run_opts(prog, &o)) { perror("test_run"); return 1; }
		unsigned long long before = n;
		double t0 = now_s();
		ring_buffer__consume(rb);
		busy += now_s() - t0;
		total += n - before;
	}
	printf("{\"records\":%llu,\"seconds\":%.6f,\"recordsPerSec\":%.0f,\"check\":%llu}\n", total, busy, total / busy, sum & 1);
	return 0;
}
