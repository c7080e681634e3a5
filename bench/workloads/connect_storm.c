/* loopback TCP connect storm: a listener thread on 127.0.0.1:ephemeral accepts and closes;
   the main thread makes N connect()s. Usage: connect_storm N [rate/s] */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

static int lfd;
static void *acceptor(void *arg) {
	(void)arg;
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c >= 0) close(c);
	}
	return NULL;
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: %s N [rate]\n", argv[0]); return 2; }
	long n = atol(argv[1]);
	double rate = argc > 2 ? atof(argv[2]) : 0;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096)) { perror("listen"); return 1; }
	socklen_t al = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &al);
	pthread_t t;
	pthread_create(&t, NULL, acceptor, NULL);
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		pace(t0, i, rate);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT pile-up, ports stay free */
		setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); return 1; }
		close(s);
	}
	printf("%.6f %ld\n", now_s() - t0, n);
	return 0;
}
