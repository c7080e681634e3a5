// SPDX-License-Identifier: GPL-2.0
/*
 * Network family: Sysmon event 3 (NetworkConnect). Hooks (all tp_btf, no kprobes):
 *  - inet_sock_set_state: CLOSE->SYN_SENT runs in the connecting process (connect(2),
 *    TCP Fast Open sendmsg): remember the socket's owner; SYN_SENT->ESTABLISHED runs in
 *    softirq, where `current` is whoever was interrupted: emit with the remembered owner
 *    and the real source port. SYN_SENT->anything else (refused, timed out): no event.
 *  - accept/accept4 exits (syscalls/sys_exit_* tracepoints): the accepting process, the new
 *    socket read from its fd.
 *  - UDP sends: net_dev_queue, in the sender's context, addresses from the packet's own
 *    IP/UDP headers (a socket bound to 0.0.0.0 still reports the real source address).
 *  - UDP receives: recvfrom/recvmsg/recvmmsg exits (per-syscall tracepoints, success only), the peer from
 *    the address the kernel just wrote to the caller's msg_name (or the socket's peer when
 *    connected), the local end from the socket. (skb_copy_datagram_iovec does not fire for
 *    linear UDP skbs on 6.x: udp_recvmsg uses copy_linear_skb.)
 *  UDP: one event per (process, local addr/port, remote addr/port) flow, again after
 *  UDP_REPORT_NS; the flow table is an LRU map.
 * Sockets of other families and protocols are left in the kernel.
 */
#include "common.bpf.h"
#include "verdict.bpf.h"
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define PF_KTHREAD 0x00200000
#define UDP_REPORT_NS (15ull * 60 * 1000000000ull)


struct net_owner {
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 _pad;
	__u64 start_boot_ns;
};

/* TCP sockets between connect() and the outcome of the handshake: sock pointer -> owner. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct net_owner);
} tcp_connecting SEC(".maps");

struct net_flow {
	__u32 tgid;
	__u16 family;
	__u16 local_port;
	__u16 remote_port;
	__u16 _pad;
	struct ip_addr16 local_addr;
	struct ip_addr16 remote_addr;
};

/* UDP flows already reported: flow -> boot ns of the report. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct net_flow);
	__type(value, __u64);
} udp_seen SEC(".maps");

static __always_inline void current_owner(struct net_owner *o)
{
	struct task_struct *task = bpf_get_current_task_btf();
	o->tgid = BPF_CORE_READ(task, tgid);
	o->tid = BPF_CORE_READ(task, pid);
	o->uid = BPF_CORE_READ(task, real_cred, uid.val);
	o->_pad = 0;
	o->start_boot_ns = BPF_CORE_READ(task, group_leader, start_boottime);
}

/*
 * 1 when the owner's verdict drops this NetworkConnect: always, or unless one of its ports is
 * in the table's keep set (Source/Destination follow Initiated, as in user space).
 */
static __always_inline int net_verdict_drops(struct net_record *r, const struct net_owner *o)
{
	__u32 ti;
	struct kf_table *t = kf_loaded_table(&ti);
	if (!t)
		return 0;
	kf_mark(&r->hdr, t);
	__u32 bits = pv_bits(t, o->tgid, o->start_boot_ns, PV_NET);
	if (!bits)
		return 0;
	if (!(bits & PV_DROP_ALL)) {
		__u16 dst = r->initiated ? r->remote_port : r->local_port;
		__u16 src = r->initiated ? r->local_port : r->remote_port;
		if ((t->ports[dst] & KF_PORT_DST) || (t->ports[src] & KF_PORT_SRC))
			return 0;
	}
	kf_count(KF_STAT_PV_DROPPED);
	return 1;
}

static __always_inline void output(struct net_record *r, const struct net_owner *o)
{
	r->hdr.type = RECORD_NET_CONNECT;
	r->hdr.flags = 0;
	r->hdr.size = sizeof(*r);
	r->hdr.boot_ns = bpf_ktime_get_boot_ns();
	r->hdr.tgid = o->tgid;
	r->hdr.tid = o->tid;
	r->owner_start_boot_ns = o->start_boot_ns;
	r->uid = o->uid;
	if (net_verdict_drops(r, o))
		return;
	if (bpf_ringbuf_output(&events, r, sizeof(*r), RB_FLAGS))
		count_drop();
}

/* A TCP socket's own addresses (AF_INET6 sockets keep v4-mapped ones; the reader maps them). */
static __always_inline int sock_addrs(struct net_record *r, const struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET) {
		bpf_core_read(&r->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(&r->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		bpf_core_read(&r->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(&r->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		return -1;
	}
	r->family = family;
	r->protocol = IPPROTO_TCP;
	r->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	r->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(net_tcp_state, const struct sock *sk, const int oldstate, const int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	__u64 key = (__u64)sk;
	if (newstate == TCP_SYN_SENT) {
		/* connect(2) in the owner's context; the source port is still 0 here */
		struct net_owner o;
		current_owner(&o);
		bpf_map_update_elem(&tcp_connecting, &key, &o, BPF_ANY);
		return 0;
	}
	if (oldstate != TCP_SYN_SENT)
		return 0;
	struct net_owner *found = bpf_map_lookup_elem(&tcp_connecting, &key);
	if (!found)
		return 0; /* connect() happened before the monitor started */
	struct net_owner o = *found;
	bpf_map_delete_elem(&tcp_connecting, &key);
	if (newstate != TCP_ESTABLISHED)
		return 0; /* refused, reset or timed out: Sysmon reports established connections */
	struct net_record r = {};
	if (sock_addrs(&r, sk))
		return 0;
	r.initiated = 1;
	output(&r, &o);
	return 0;
}

/* The struct sock behind a file descriptor of the current task, or NULL. */
static __always_inline struct sock *sock_of_fd(struct task_struct *task, long fd)
{
	struct file *file = fd_file(task, fd);
	if (!file)
		return 0;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : 0;
}

/* Reports a flow once per UDP_REPORT_NS; returns 1 when it should be reported now. */
static __always_inline int udp_first(const struct net_flow *k)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u64 *seen = bpf_map_lookup_elem(&udp_seen, k);
	if (seen && now - *seen < UDP_REPORT_NS)
		return 0;
	bpf_map_update_elem(&udp_seen, k, &now, BPF_ANY);
	return 1;
}

/*
 * A UDP datagram (from its IP/UDP headers) seen in the context of the process that sends
 * or receives it: report the flow the first time.
 */
static __always_inline void udp_packet(const struct sk_buff *skb, int outbound)
{
	struct task_struct *task = bpf_get_current_task_btf();
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return;
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return;
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 th = BPF_CORE_READ(skb, transport_header);
	if (nh == (__u16)~0U || th == (__u16)~0U)
		return;

	struct net_flow k = {};
	struct ip_addr16 src = {}, dst = {};
	if (proto == ETH_P_IP) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh))
			return;
		/* later fragments carry no UDP header */
		if (ip.protocol != IPPROTO_UDP || (ip.frag_off & bpf_htons(0x1fff)))
			return;
		__builtin_memcpy(src.b, &ip.saddr, 4);
		__builtin_memcpy(dst.b, &ip.daddr, 4);
		k.family = AF_INET;
	} else {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return;
		if (ip6.nexthdr != IPPROTO_UDP)
			return;
		__builtin_memcpy(src.b, &ip6.saddr, 16);
		__builtin_memcpy(dst.b, &ip6.daddr, 16);
		k.family = AF_INET6;
	}
	__be16 ports[2];
	if (bpf_probe_read_kernel(ports, sizeof(ports), head + th))
		return;

	k.tgid = BPF_CORE_READ(task, tgid);
	if (outbound) {
		k.local_addr = src;
		k.remote_addr = dst;
		k.local_port = bpf_ntohs(ports[0]);
		k.remote_port = bpf_ntohs(ports[1]);
	} else {
		k.local_addr = dst;
		k.remote_addr = src;
		k.local_port = bpf_ntohs(ports[1]);
		k.remote_port = bpf_ntohs(ports[0]);
	}
	if (!udp_first(&k))
		return;

	struct net_record r = {};
	r.family = k.family;
	r.protocol = IPPROTO_UDP;
	r.initiated = outbound;
	r.local_port = k.local_port;
	r.remote_port = k.remote_port;
	r.local_addr = k.local_addr;
	r.remote_addr = k.remote_addr;
	struct net_owner o;
	current_owner(&o);
	output(&r, &o);
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(net_udp_send, struct sk_buff *skb)
{
	/* only datagrams a local UDP socket sends, not forwarded or TCP traffic */
	struct sock *sk = BPF_CORE_READ(skb, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	udp_packet(skb, 1);
	return 0;
}

/* A UDP datagram received: peer from the user's sockaddr (or the connected socket). */
static __always_inline void udp_received(struct task_struct *task, struct sock *sk, void *uaddr)
{
	struct net_record r = {};
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == AF_INET)
		bpf_core_read(&r.local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
	else if (family == AF_INET6)
		bpf_core_read(&r.local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	else
		return;
	r.local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (uaddr) {
		struct { __u16 family; __be16 port; __u32 flowinfo_or_v4; __u8 v6[16]; } sa;
		if (bpf_probe_read_user(&sa, sizeof(sa), uaddr))
			return;
		if (sa.family != family)
			return;
		r.remote_port = bpf_ntohs(sa.port);
		if (family == AF_INET)
			__builtin_memcpy(r.remote_addr.b, &sa.flowinfo_or_v4, 4);
		else
			__builtin_memcpy(r.remote_addr.b, sa.v6, 16);
	} else {
		if (family == AF_INET)
			bpf_core_read(&r.remote_addr, 4, &sk->__sk_common.skc_daddr);
		else
			bpf_core_read(&r.remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
		r.remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
	if (r.remote_port == 0)
		return; /* no peer known (unconnected socket, no msg_name asked for) */
	struct net_flow k = {};
	k.tgid = BPF_CORE_READ(task, tgid);
	k.family = family;
	k.local_port = r.local_port;
	k.remote_port = r.remote_port;
	k.local_addr = r.local_addr;
	k.remote_addr = r.remote_addr;
	if (!udp_first(&k))
		return;
	r.family = family;
	r.protocol = IPPROTO_UDP;
	r.initiated = 0;
	struct net_owner o;
	current_owner(&o);
	output(&r, &o);
}

/*
 * accept/accept4 and recvfrom/recvmsg/recvmmsg exits: per-syscall tracepoints, so nothing
 * runs for any other syscall (a tp_btf/sys_exit program ran for every syscall of every
 * process: +150-250 ns each, measured with a getppid loop). The call's arguments come
 * from the task's user registers, which still hold them at exit.
 */
static __always_inline int net_exit(long nr, long ret)
{
	if (ret < 0)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	if (nr == NR_ACCEPT || nr == NR_ACCEPT4) {
		struct sock *sk = sock_of_fd(task, ret);
		if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
			return 0;
		struct net_record r = {};
		if (sock_addrs(&r, sk))
			return 0;
		/* A connection the peer reset before accept() returned is closed already, and
		 * closing unhashed its local port (inet_put_port zeroes inet_num): it is the
		 * listening socket's (the accept's first argument). */
		if (r.local_port == 0) {
			struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
			struct sock *lsk = regs ? sock_of_fd(task, (int)SC_ARG0(regs)) : 0;
			if (lsk)
				r.local_port = BPF_CORE_READ(lsk, __sk_common.skc_num);
		}
		r.initiated = 0;
		struct net_owner o;
		current_owner(&o);
		output(&r, &o);
		return 0;
	}
	if (nr == NR_RECVMMSG && ret == 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	long fd = (int)SC_ARG0(regs);
	struct sock *sk = sock_of_fd(task, fd);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	void *uaddr = 0;
	if (nr == NR_RECVFROM) {
		uaddr = (void *)SC_ARG4(regs);
	} else {
		/* struct msghdr (recvmsg) or the first struct mmsghdr (recvmmsg): msg_name first */
		void *msg = (void *)SC_ARG1(regs);
		if (bpf_probe_read_user(&uaddr, sizeof(uaddr), msg))
			return 0;
	}
	udp_received(task, sk, uaddr);
	return 0;
}

SYSCALL_EXIT_PROG(net, accept, net_exit, NR_ACCEPT)
SYSCALL_EXIT_PROG(net, accept4, net_exit, NR_ACCEPT4)
SYSCALL_EXIT_PROG(net, recvfrom, net_exit, NR_RECVFROM)
SYSCALL_EXIT_PROG(net, recvmsg, net_exit, NR_RECVMSG)
SYSCALL_EXIT_PROG(net, recvmmsg, net_exit, NR_RECVMMSG)

/* Never used at run time: puts the record layout in the object's BTF for the layout test. */
struct net_record *layout_net_record __attribute__((unused));
