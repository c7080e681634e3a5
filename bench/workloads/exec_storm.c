/* exec storm: N times fork + execve(CHILD) + wait. Usage: exec_storm N CHILD [rate/s] */
#include "common.h"
#include <sys/wait.h>

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: %s N CHILD [rate]\n", argv[0]); return 2; }
	long n = atol(argv[1]);
	double rate = argc > 3 ? atof(argv[3]) : 0;
	char *child = argv[2];
	char *cargv[] = { child, "bench-arg", NULL };
	char *cenv[] = { NULL };
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		pace(t0, i, rate);
		pid_t p = fork();
		if (p < 0) { perror("fork"); return 1; }
		if (p == 0) { execve(child, cargv, cenv); _exit(127); }
		int st;
		waitpid(p, &st, 0);
	}
	printf("%.6f %ld\n", now_s() - t0, n);
	return 0;
}
