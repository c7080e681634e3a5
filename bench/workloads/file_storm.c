/* file storm: N times open(O_CREAT) + write 16 bytes + close + unlink in DIR.
   Usage: file_storm N DIR [rate/s]. 2 Sysmon events per file (11 FileCreate, 23 FileDelete). */
#include "common.h"
#include <fcntl.h>

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: %s N DIR [rate]\n", argv[0]); return 2; }
	long n = atol(argv[1]);
	double rate = argc > 3 ? atof(argv[3]) : 0;
	char path[4096];
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		pace(t0, i, rate);
		snprintf(path, sizeof path, "%s/benchfile-%ld.tmp", argv[2], i);
		int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
		if (fd < 0) { perror("open"); return 1; }
		if (write(fd, "sysmon-ts bench\n", 16) != 16) { perror("write"); return 1; }
		close(fd);
		if (unlink(path) != 0) { perror("unlink"); return 1; }
	}
	printf("%.6f %ld\n", now_s() - t0, n);
	return 0;
}
