/* Shared helpers of the bench workloads: monotonic clock and an optional rate limit. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* rate <= 0: as fast as possible; otherwise sleep so that op i starts at t0 + i / rate */
static void pace(double t0, long i, double rate) {
	if (rate <= 0) return;
	double due = t0 + i / rate, d = due - now_s();
	if (d > 0) {
		struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };
		nanosleep(&ts, NULL);
	}
}
