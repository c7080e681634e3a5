// SPDX-License-Identifier: GPL-2.0
/*
 * DNS family: Sysmon event 22 (DnsQuery). Two sources, deduplicated in the kernel:
 *  - libc resolution: uprobe + uretprobe on getaddrinfo, gethostbyname and gethostbyname2
 *    in the libc processes load (the loader resolves "libc.so.6" of the section name to the
 *    system's libc, see src/kernel/loader.ts). Entry: the node name, read into a per-thread
 *    map; return: the status and the result list (addresses, canonical name) -> one
 *    RECORD_DNS_LIBC.
 *  - DNS spoken by the program itself (dig, nslookup, c-ares in Node, Go's resolver): a UDP
 *    datagram sent to port 53 that is a query (QR=0) registers (tgid, query id) in
 *    dns_pending (tp_btf/net_dev_queue, sender's context, payload read from the skb); a
 *    response (QR=1) the same process then receives from port 53 with that id is copied
 *    (at most DNS_MAX_PAYLOAD bytes) into a RECORD_DNS_WIRE (syscalls/sys_exit_X tracepoints
 *    of recvfrom/recvmsg/recvmmsg/read, from the user buffer the kernel just filled).
 *    TCP: a response read whole (length prefix + message in one read, as dig +tcp does)
 *    on a connection to port 53 (the client end asked by construction).
 *    Userspace parses the question and the answers. Retransmissions and late duplicates
 *    give one record: the pending entry is consumed by the first response.
 *  Dedupe: queries a thread sends while it is inside one of the libc calls above are not
 *  registered, so a getaddrinfo that goes to the DNS server is one event (the libc one,
 *  which has the name as the program asked for it), not two or three (A + AAAA).
 * Everything else (other ports, datagrams that are not DNS queries, responses nobody
 * asked for) stays in the kernel.
 */
#include "common.bpf.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define DNS_PORT 53
#define LIBC_CALL_STALE_NS (60ull * 1000000000ull)
#define DNS_ADDR_AREA (DNS_MAX_ADDRS * sizeof(struct dns_addr))


/* A libc resolver call in progress on a thread: what the return probe needs. */
struct libc_call {
	__u64 start_ns;
	__u64 res;          /* getaddrinfo: struct addrinfo **res */
	__u32 source;       /* DNS_SRC_GETADDRINFO or DNS_SRC_GETHOSTBYNAME */
	__u32 name_len;     /* bytes of name, NUL included */
	char name[DNS_MAX_NAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);                 /* tid */
	__type(value, struct libc_call);
} dns_libc_calls SEC(".maps");

struct dns_key {
	__u32 tgid;
	__u16 id;           /* DNS message id, network order */
	__u16 _pad;
};

/* Queries sent to port 53 and not answered yet: (tgid, id) -> boot ns of the send. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct dns_key);
	__type(value, __u64);
} dns_pending SEC(".maps");

static __always_inline void fill_owner(struct dns_record *r, __u16 type, __u16 source)
{
	struct task_struct *task = bpf_get_current_task_btf();
	fill_header(&r->hdr, type, task);
	r->owner_start_boot_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	r->uid = BPF_CORE_READ(task, real_cred, uid.val);
	r->source = source;
	r->family = 0;
	r->status = 0;
	r->server_port = 0;
	r->_pad = 0;
	__builtin_memset(&r->server_addr, 0, sizeof(r->server_addr));
	r->name.off = 0; r->name.len = 0;
	r->payload.off = 0; r->payload.len = 0;
	r->canon.off = 0; r->canon.len = 0;
}

/* ---- libc ------------------------------------------------------------------------- */

static __always_inline int libc_enter(const char *name, __u32 source, __u64 res)
{
	if (!name)
		return 0; /* getaddrinfo(NULL, service): no lookup */
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	/* the value is too big for the stack: insert zeroes, then fill in place */
	static const struct libc_call zero_call;
	if (bpf_map_update_elem(&dns_libc_calls, &tid, &zero_call, BPF_ANY))
		return 0;
	struct libc_call *c = bpf_map_lookup_elem(&dns_libc_calls, &tid);
	if (!c)
		return 0;
	c->start_ns = bpf_ktime_get_boot_ns();
	c->res = res;
	c->source = source;
	long n = bpf_probe_read_user_str(c->name, sizeof(c->name), name);
	c->name_len = n > 0 ? n : 0;
	return 0;
}

SEC("uprobe/libc.so.6:getaddrinfo")
int BPF_KPROBE(dns_gai_enter, const char *node, const char *service, const void *hints, void *res)
{
	return libc_enter(node, DNS_SRC_GETADDRINFO, (__u64)res);
}

SEC("uprobe/libc.so.6:gethostbyname")
int BPF_KPROBE(dns_ghbn_enter, const char *name)
{
	return libc_enter(name, DNS_SRC_GETHOSTBYNAME, 0);
}

SEC("uprobe/libc.so.6:gethostbyname2")
int BPF_KPROBE(dns_ghbn2_enter, const char *name)
{
	return libc_enter(name, DNS_SRC_GETHOSTBYNAME, 0);
}

/*
 * Walking a result list: one step per bpf_loop iteration, with its state in a per-CPU map
 * (values from a map are unknown to the verifier, so the callback is verified once instead
 * of once per possible count, which exceeds its budget).
 */
struct list_walk {
	__u64 ptr;          /* getaddrinfo: the next struct addrinfo; hostent: &h_addr_list[i] */
	__u32 count;        /* addresses stored */
	__u16 family;       /* hostent: h_addrtype */
	__u16 hostent;
	__u32 area;         /* scratch offset of the dns_addr array */
	__u32 truncated;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct list_walk);
} dns_walk SEC(".maps");

/* Copies one address into the result area unless it repeats the previous one. */
static __always_inline void put_addr(__u8 *buf, struct list_walk *w, __u16 family, const void *uaddr)
{
	__u32 i = w->count;
	if (i >= DNS_MAX_ADDRS) {
		w->truncated = 1;
		return;
	}
	struct dns_addr *a = (struct dns_addr *)(buf + sizeof(struct dns_record) + DNS_MAX_NAME + i * sizeof(struct dns_addr));
	a->family = family;
	a->_pad = 0;
	__builtin_memset(&a->addr, 0, sizeof(a->addr));
	if (family == AF_INET)
		bpf_probe_read_user(a->addr.b, 4, uaddr);
	else
		bpf_probe_read_user(a->addr.b, 16, uaddr);
	/* getaddrinfo lists each address once per socket type: keep one */
	if (i > 0) {
		struct dns_addr *prev = a - 1;
		const __u32 *x = (const __u32 *)prev->addr.b, *y = (const __u32 *)a->addr.b;
		if (prev->family == a->family && x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3])
			return;
	}
	w->count = i + 1;
}

static long list_step(__u64 index, void *unused)
{
	__u32 zero = 0;
	struct list_walk *w = bpf_map_lookup_elem(&dns_walk, &zero);
	__u8 *buf = scratch_buf();
	if (!w || !buf || !w->ptr)
		return 1;
	if (w->hostent) {
		char *p = 0;
		if (bpf_probe_read_user(&p, sizeof(p), (void *)w->ptr) || !p)
			return 1;
		put_addr(buf, w, w->family, p);
		w->ptr += sizeof(char *);
		return 0;
	}
	/* struct addrinfo (LP64): flags 0, family 4, socktype 8, protocol 12,
	 * addrlen 16, ai_addr 24, ai_canonname 32, ai_next 40 */
	struct { int flags, family, socktype, protocol; __u32 addrlen, _pad;
		 void *addr; char *canonname; void *next; } a;
	if (bpf_probe_read_user(&a, sizeof(a), (void *)w->ptr))
		return 1;
	__u16 fam = 0;
	if (a.addr)
		bpf_probe_read_user(&fam, sizeof(fam), a.addr);
	if (fam == AF_INET)
		put_addr(buf, w, fam, a.addr + 4);
	else if (fam == AF_INET6)
		put_addr(buf, w, fam, a.addr + 8);
	w->ptr = (__u64)a.next;
	return 0;
}

/*
 * Record layout written here (fixed offsets keep the verifier simple):
 *   dns_record | name[DNS_MAX_NAME] | dns_addr[DNS_MAX_ADDRS] | canon[DNS_MAX_NAME]
 */
static __always_inline int libc_exit(struct pt_regs *ctx, int is_hostent)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct libc_call *c = bpf_map_lookup_elem(&dns_libc_calls, &tid);
	if (!c)
		return 0;
	__u8 *buf = scratch_buf();
	struct list_walk *w = bpf_map_lookup_elem(&dns_walk, &zero);
	if (!buf || !w) {
		bpf_map_delete_elem(&dns_libc_calls, &tid);
		count_drop();
		return 0;
	}
	struct dns_record *r = (struct dns_record *)buf;
	fill_owner(r, RECORD_DNS_LIBC, c->source);
	__u32 name_at = sizeof(*r);
	__u32 addr_at = name_at + DNS_MAX_NAME;
	__u32 canon_at = addr_at + DNS_ADDR_AREA;
	__u32 len = c->name_len;
	if (len > DNS_MAX_NAME)
		len = DNS_MAX_NAME;
	bpf_probe_read_kernel(buf + name_at, DNS_MAX_NAME, c->name);
	r->name.off = name_at;
	r->name.len = len > 0 ? len - 1 : 0; /* without the NUL */
	__u64 res = c->res;
	bpf_map_delete_elem(&dns_libc_calls, &tid);

	const char *canon = 0;
	w->ptr = 0;
	w->count = 0;
	w->family = 0;
	w->hostent = is_hostent;
	w->truncated = 0;
	if (!is_hostent) {
		int ret = (int)PT_REGS_RC(ctx);
		r->status = ret;
		void *ai = 0;
		if (ret == 0 && res)
			bpf_probe_read_user(&ai, sizeof(ai), (void *)res);
		if (ai)
			bpf_probe_read_user(&canon, sizeof(canon), ai + 32); /* ai_canonname */
		w->ptr = (__u64)ai;
	} else {
		void *h = (void *)PT_REGS_RC(ctx);
		r->status = h ? 0 : -1;
		/* struct hostent: h_name 0, h_aliases 8, h_addrtype 16, h_length 20, h_addr_list 24 */
		struct { char *name; char **aliases; int addrtype, length; char **list; } he;
		if (h && !bpf_probe_read_user(&he, sizeof(he), h) &&
		    (he.addrtype == AF_INET || he.addrtype == AF_INET6)) {
			canon = he.name;
			w->family = he.addrtype;
			w->ptr = (__u64)he.list;
		}
	}
	bpf_loop(DNS_MAX_ADDRS * 4, list_step, 0, 0);
	__u32 count = w->count;
	if (count > DNS_MAX_ADDRS)
		count = DNS_MAX_ADDRS;
	if (w->truncated)
		r->hdr.flags |= RECORD_FLAG_DNS_TRUNCATED;
	r->payload.off = addr_at;
	r->payload.len = count * sizeof(struct dns_addr);
	if (canon) {
		long n = bpf_probe_read_user_str(buf + canon_at, DNS_MAX_NAME, canon);
		if (n > 1) {
			r->canon.off = canon_at;
			r->canon.len = n - 1;
		}
	}
	__u32 size = canon_at + DNS_MAX_NAME;
	r->hdr.size = size;
	emit(buf, size);
	return 0;
}

SEC("uretprobe/libc.so.6:getaddrinfo")
int BPF_KRETPROBE(dns_gai_exit)
{
	return libc_exit(ctx, 0);
}

SEC("uretprobe/libc.so.6:gethostbyname")
int BPF_KRETPROBE(dns_ghbn_exit)
{
	return libc_exit(ctx, 1);
}

SEC("uretprobe/libc.so.6:gethostbyname2")
int BPF_KRETPROBE(dns_ghbn2_exit)
{
	return libc_exit(ctx, 1);
}

/* ---- DNS on the wire ------------------------------------------------------------------ */

/* True while the current thread is inside a libc resolver call (its queries are its). */
static __always_inline int in_libc_call(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct libc_call *c = bpf_map_lookup_elem(&dns_libc_calls, &tid);
	return c && bpf_ktime_get_boot_ns() - c->start_ns < LIBC_CALL_STALE_NS;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(dns_udp_send, struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	if (nh == (__u16)~0U || th == (__u16)~0U)
		return 0;
	if (proto == ETH_P_IP) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return 0;
		if (ip.protocol != IPPROTO_UDP || (ip.frag_off & bpf_htons(0x1fff)))
			return 0;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return 0;
		if (ip6.nexthdr != IPPROTO_UDP)
			return 0;
	} else {
		return 0;
	}
	/* UDP header (8 bytes) then the DNS header: id, flags */
	struct { __be16 sport, dport, len, check; __be16 id, flags; } h;
	if (bpf_probe_read_kernel(&h, sizeof(h), head + th))
		return 0;
	if (h.dport != bpf_htons(DNS_PORT) || bpf_ntohs(h.len) < 8 + 12)
		return 0;
	if (h.flags & bpf_htons(0x8000))
		return 0; /* a response (a server answering): not a query */
	if (in_libc_call())
		return 0; /* reported by the libc probes */
	struct dns_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .id = h.id };
	__u64 now = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&dns_pending, &k, &now, BPF_ANY);
	return 0;
}

/* The struct sock behind a socket file descriptor of the current task, or NULL. */
static __always_inline struct sock *socket_of_fd(struct task_struct *task, long fd)
{
	struct file *file = fd_file(task, fd);
	if (!file)
		return 0;
	/* read(2) runs on any file: only sockets have a struct socket in private_data */
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : 0;
}

/*
 * recvfrom/recvmsg/recvmmsg/read exits: per-syscall tracepoints, so nothing runs for any
 * other syscall (a tp_btf/sys_exit program ran for every syscall of every process, ~150-250
 * ns each here). The call's arguments come from the task's user registers at exit.
 */
static __always_inline int dns_exit(long nr, long ret)
{
	if (ret <= 0)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	struct sock *sk = socket_of_fd(task, (int)SC_ARG0(regs));
	if (!sk)
		return 0;
	__u8 protocol = BPF_CORE_READ(sk, sk_protocol);
	if (protocol != IPPROTO_UDP && protocol != IPPROTO_TCP)
		return 0;
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;

	/* where the data went, and the peer's address if the caller asked for it */
	void *data = 0, *uaddr = 0;
	long len = ret;
	if (nr == NR_RECVFROM || nr == NR_READ) {
		data = (void *)SC_ARG1(regs);
		if (nr == NR_RECVFROM)
			uaddr = (void *)SC_ARG4(regs);
	} else {
		/* struct msghdr (recvmsg) or the first struct mmsghdr (recvmmsg):
		 * msg_name 0, msg_namelen 8, msg_iov 16, msg_iovlen 24; mmsghdr.msg_len at 56 */
		void *msg = (void *)SC_ARG1(regs);
		struct { void *name; __u64 namelen; void *iov; __u64 iovlen; } m;
		if (bpf_probe_read_user(&m, sizeof(m), msg) || !m.iov || !m.iovlen)
			return 0;
		struct { void *base; __u64 len; } iov;
		if (bpf_probe_read_user(&iov, sizeof(iov), m.iov))
			return 0;
		if (nr == NR_RECVMMSG) {
			__u32 first = 0;
			if (bpf_probe_read_user(&first, sizeof(first), msg + 56))
				return 0;
			len = first;
		}
		if (len > iov.len)
			len = iov.len;
		data = iov.base;
		uaddr = m.name;
	}
	if (!data || len < 12)
		return 0;

	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct dns_record *r = (struct dns_record *)buf;
	/* the peer: the connected socket's, else what the kernel wrote to the caller's sockaddr */
	__u16 port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (protocol == IPPROTO_TCP)
		uaddr = 0; /* a stream: the connection's peer */
	struct ip_addr16 server = {};
	if (port) {
		if (family == AF_INET)
			bpf_core_read(&server, 4, &sk->__sk_common.skc_daddr);
		else
			bpf_core_read(&server, 16, &sk->__sk_common.skc_v6_daddr);
	} else if (uaddr) {
		struct { __u16 family; __be16 port; __u32 flowinfo_or_v4; __u8 v6[16]; } sa;
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr) || sa.family != family)
			return 0;
		port = bpf_ntohs(sa.port);
		if (family == AF_INET)
			__builtin_memcpy(server.b, &sa.flowinfo_or_v4, 4);
		else
			__builtin_memcpy(server.b, sa.v6, 16);
	}
	if (port != DNS_PORT)
		return 0;

	if (protocol == IPPROTO_TCP) {
		/*
		 * A connection this process opened to port 53 (the peer's port is 53), read whole:
		 * the 2-byte length then the message in one read, as dig (libuv) reads. The client
		 * end of a TCP connection asked by construction, so no pending entry is needed;
		 * the length must fit what was read (a read of the body alone does not match).
		 */
		struct { __be16 len, id, flags; } t;
		if (bpf_probe_read_user(&t, sizeof(t), data) || !(t.flags & bpf_htons(0x8000)))
			return 0;
		long mlen = bpf_ntohs(t.len);
		if (mlen < 12 || mlen + 2 > len || in_libc_call())
			return 0;
		data += 2;
		len = mlen;
	} else {
		struct { __be16 id, flags; } h;
		if (bpf_probe_read_user(&h, sizeof(h), data) || !(h.flags & bpf_htons(0x8000)))
			return 0; /* not a response */
		struct dns_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .id = h.id };
		if (!bpf_map_lookup_elem(&dns_pending, &k))
			return 0; /* nobody here asked, or already answered */
		bpf_map_delete_elem(&dns_pending, &k);
	}

	fill_owner(r, RECORD_DNS_WIRE, protocol == IPPROTO_TCP ? DNS_SRC_TCP : DNS_SRC_UDP);
	r->family = family;
	r->server_port = port;
	r->server_addr = server;
	__u32 n = len;
	if (len > DNS_MAX_PAYLOAD) {
		n = DNS_MAX_PAYLOAD;
		r->hdr.flags |= RECORD_FLAG_DNS_TRUNCATED;
	}
	n &= (DNS_MAX_PAYLOAD * 2 - 1);
	if (n > DNS_MAX_PAYLOAD)
		return 0;
	if (bpf_probe_read_user(buf + sizeof(*r), n, data))
		return 0;
	r->payload.off = sizeof(*r);
	r->payload.len = n;
	r->hdr.size = sizeof(*r) + n;
	emit(buf, sizeof(*r) + n);
	return 0;
}

SYSCALL_EXIT_PROG(dns, recvfrom, dns_exit, NR_RECVFROM)
SYSCALL_EXIT_PROG(dns, recvmsg, dns_exit, NR_RECVMSG)
SYSCALL_EXIT_PROG(dns, recvmmsg, dns_exit, NR_RECVMMSG)
SYSCALL_EXIT_PROG(dns, read, dns_exit, NR_READ)

/* Never used at run time: puts the record layouts in the object's BTF for the layout test. */
struct dns_record *layout_dns_record __attribute__((unused));
struct dns_addr *layout_dns_addr __attribute__((unused));
