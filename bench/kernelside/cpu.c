#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <time.h>
int main(int c, char **v){ struct timespec a,b; clock_gettime(CLOCK_MONOTONIC,&a); pid_t p=fork(); if(!p){ int fd=open("/dev/null",1); dup2(fd,1); execv(v[1],v+1); _exit(127);} int st; struct rusage ru; wait4(p,&st,0,&ru); clock_gettime(CLOCK_MONOTONIC,&b);
struct rusage rc; getrusage(RUSAGE_CHILDREN,&rc);
printf("wall %.3f cpu %.3f usr %.3f sys %.3f\n",(b.tv_sec-a.tv_sec)+(b.tv_nsec-a.tv_nsec)/1e9, rc.ru_utime.tv_sec+rc.ru_utime.tv_usec/1e6+rc.ru_stime.tv_sec+rc.ru_stime.tv_usec/1e6, rc.ru_utime.tv_sec+rc.ru_utime.tv_usec/1e6, rc.ru_stime.tv_sec+rc.ru_stime.tv_usec/1e6); return 0;}
