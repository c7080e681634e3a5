// usage: harness OBJDIR prog1,prog2,...   (prints READY, drains ring every 1ms until SIGTERM)
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
static volatile int stop;
static void onsig(int s) { stop = 1; }
static long n;
static int cb(void *ctx, void *data, size_t sz) { n++; return 0; }
int main(int argc, char **argv) {
	const char *objs[] = {"process", "network", "file", "security", "image", "dns"};
	char *want = argv[2];
	int fds[3] = {-1, -1, -1}; const char *shared[] = {"events", "drops", "scratch"};
	struct bpf_object *o[6];
	signal(SIGTERM, onsig); signal(SIGINT, onsig);
	for (int i = 0; i < 6; i++) {
		char p[512]; snprintf(p, sizeof p, "%s/%s.bpf.o", argv[1], objs[i]);
		o[i] = bpf_object__open_file(p, NULL);
		if (!o[i]) { perror(p); return 1; }
		for (int k = 0; k < 3; k++) {
			struct bpf_map *m = bpf_object__find_map_by_name(o[i], shared[k]);
			if (!m) continue;
			if (fds[k] >= 0) bpf_map__reuse_fd(m, fds[k]);
			else if (k == 2) bpf_map__set_max_entries(m, libbpf_num_possible_cpus());
		}
		if (bpf_object__load(o[i])) { fprintf(stderr, "load %s failed\n", p); return 1; }
		for (int k = 0; k < 3; k++) {
			struct bpf_map *m = bpf_object__find_map_by_name(o[i], shared[k]);
			if (m && fds[k] < 0) fds[k] = bpf_map__fd(m);
		}
		struct bpf_program *prog;
		bpf_object__for_each_program(prog, o[i]) {
			char needle[256]; snprintf(needle, sizeof needle, ",%s,", bpf_program__name(prog));
			if (strstr(want, needle)) {
				if (!bpf_program__attach(prog)) { fprintf(stderr, "attach %s failed\n", needle); return 1; }
				fprintf(stderr, "attached %s\n", bpf_program__name(prog));
			}
		}
	}
	struct ring_buffer *rb = ring_buffer__new(fds[0], cb, NULL, NULL);
	printf("READY\n"); fflush(stdout);
	while (!stop) { ring_buffer__consume(rb); usleep(1000); }
	ring_buffer__consume(rb);
	long d = 0; int cpus = libbpf_num_possible_cpus(); unsigned long long v[cpus]; int z = 0;
	if (!bpf_map_lookup_elem(fds[1], &z, v)) for (int c = 0; c < cpus; c++) d += v[c];
	fprintf(stderr, "records %ld drops %ld\n", n, d);
	return 0;
}
