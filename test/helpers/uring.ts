// The raw io_uring plumbing the io_uring tests' small C programs share (no liburing): a
// program defines how to fill its one SQE and calls uring_run_one(), which sets the ring up,
// submits, waits for the CQE and returns its res (or -1000 when the ring cannot be set up).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess } from './agent.js';

export const URING_RUNTIME_C = `#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int uring_run_one(void (*fill)(struct io_uring_sqe *e, void *arg), void *arg, int fixed_files)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) { perror("io_uring_setup"); return -1000; }
	if (fixed_files) {
		int fds[4] = { -1, -1, -1, -1 };
		if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_FILES, fds, 4) < 0) { perror("register"); return -1000; }
	}
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(0, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return -1000; }
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	unsigned t = *tail;
	struct io_uring_sqe *e = &sqes[t & mask];
	memset(e, 0, sizeof(*e));
	fill(e, arg);
	array[t & mask] = t & mask;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, 0, 0) < 0) { perror("io_uring_enter"); return -1000; }
	unsigned *head = (unsigned *)(cq + p.cq_off.head);
	unsigned cmask = *(unsigned *)(cq + p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	unsigned h = __atomic_load_n(head, __ATOMIC_ACQUIRE);
	int res = cqes[h & cmask].res;
	__atomic_store_n(head, h + 1, __ATOMIC_RELEASE);
	return res;
}
`;

export interface UringFixture {
  agent: AgentProcess;
  dir: string;
  work: string;
  prog: string;
}

/**
 * A temporary directory with an empty work/ folder, the test's C program built in it, and a
 * running agent that logs only that directory's files (the given file event tags) and the
 * programs started from it: other activity on the machine (another job's file or exec storm)
 * cannot bury the test's events behind a backlog.
 */
export async function startUringFixture(prefix: string, program: string, source: string, fileTags: string[]): Promise<UringFixture> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  const work = join(dir, 'work');
  mkdirSync(work);
  writeFileSync(join(dir, `${program}.c`), source);
  const prog = join(dir, program);
  execFileSync('cc', ['-O2', '-o', prog, join(dir, `${program}.c`)]);
  const rules = fileTags.map(
    (tag) =>
      `    <RuleGroup name="" groupRelation="or"><${tag} onmatch="include"><TargetFilename condition="begin with">${dir}/</TargetFilename></${tag}></RuleGroup>`,
  );
  const config = join(dir, 'config.xml');
  writeFileSync(
    config,
    `<Sysmon schemaversion="4.90">
  <EventFiltering>
${rules.join('\n')}
    <RuleGroup name="" groupRelation="or"><ProcessCreate onmatch="include"><Image condition="begin with">${dir}/</Image></ProcessCreate></RuleGroup>
  </EventFiltering>
</Sysmon>
`,
  );
  const agent = new AgentProcess(['-c', config], dir);
  await agent.start();
  return { agent, dir, work, prog };
}
