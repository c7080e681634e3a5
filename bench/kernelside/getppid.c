#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>
#include <sys/syscall.h>
int main(int c, char **v){ long n=atol(v[1]); struct timespec a,b; clock_gettime(CLOCK_MONOTONIC,&a);
for(long i=0;i<n;i++) syscall(SYS_getppid);
clock_gettime(CLOCK_MONOTONIC,&b); double s=(b.tv_sec-a.tv_sec)+(b.tv_nsec-a.tv_nsec)/1e9; printf("%.6f %ld %.1f ns/call\n",s,n,s/n*1e9); }
