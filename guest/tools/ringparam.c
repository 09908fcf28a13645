// SPDX-License-Identifier: GPL-2.0
/*
 * ringparam IFACE [RX TX]: show, or set, a network interface's ring sizes through the
 * SIOCETHTOOL ioctl, as `ethtool -g` / `ethtool -G IFACE rx RX tx TX` do. BusyBox has no
 * ethtool; the tests use this to resize virtio-net rings (virtqueue_resize, which needs
 * virtqueue reset). Freestanding: i386 Linux system calls only, no C library, so guest/build.sh
 * builds it with the cross compiler it already has.
 */
#define SYS_exit	1
#define SYS_write	4
#define SYS_ioctl	54
#define SYS_socket	359
#define AF_INET		2
#define SOCK_DGRAM	2
#define SIOCETHTOOL	0x8946
#define ETHTOOL_GRINGPARAM	0x10
#define ETHTOOL_SRINGPARAM	0x11

struct ringparam {
	unsigned int cmd, rx_max, rx_mini_max, rx_jumbo_max, tx_max;
	unsigned int rx, rx_mini, rx_jumbo, tx;
};

struct ifreq {
	char name[16];
	union { void *data; char pad[16]; } u;
};

static long sys(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile ("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

static unsigned int len(const char *s)
{
	unsigned int n = 0;

	while (s[n])
		n++;
	return n;
}

static void out(int fd, const char *s)
{
	sys(SYS_write, fd, (long)s, len(s));
}

static void num(int fd, unsigned long v)
{
	char b[12];
	int i = 11;

	b[i] = 0;
	do {
		b[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	out(fd, b + i);
}

static int parse(const char *s, unsigned int *v)
{
	*v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *v > 100000000)
			return -1;
		*v = *v * 10 + (*s - '0');
	}
	return 0;
}

static int fail(const char *what, long err)
{
	out(2, "ringparam: ");
	out(2, what);
	out(2, " failed: errno ");
	num(2, -err);
	out(2, "\n");
	return 1;
}

static int run(int argc, char **argv)
{
	struct ringparam rp = { .cmd = ETHTOOL_GRINGPARAM };
	struct ifreq ifr = { .name = { 0 } };
	unsigned int i, rx, tx;
	long fd, r;

	if (argc != 2 && argc != 4) {
		out(2, "usage: ringparam IFACE [RX TX]\n");
		return 2;
	}
	for (i = 0; argv[1][i] && i < sizeof(ifr.name) - 1; i++)
		ifr.name[i] = argv[1][i];
	ifr.u.data = &rp;

	fd = sys(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket", fd);
	r = sys(SYS_ioctl, fd, SIOCETHTOOL, (long)&ifr);
	if (r < 0)
		return fail("ETHTOOL_GRINGPARAM", r);
	if (argc == 4) {
		if (parse(argv[2], &rx) || parse(argv[3], &tx)) {
			out(2, "ringparam: RX and TX are numbers\n");
			return 2;
		}
		rp.cmd = ETHTOOL_SRINGPARAM;
		rp.rx = rx;
		rp.tx = tx;
		r = sys(SYS_ioctl, fd, SIOCETHTOOL, (long)&ifr);
		if (r < 0)
			return fail("ETHTOOL_SRINGPARAM", r);
		rp.cmd = ETHTOOL_GRINGPARAM;
		r = sys(SYS_ioctl, fd, SIOCETHTOOL, (long)&ifr);
		if (r < 0)
			return fail("ETHTOOL_GRINGPARAM", r);
	}
	out(1, "rx ");
	num(1, rp.rx);
	out(1, "/");
	num(1, rp.rx_max);
	out(1, " tx ");
	num(1, rp.tx);
	out(1, "/");
	num(1, rp.tx_max);
	out(1, "\n");
	return 0;
}

/* The kernel enters here with argc at the stack pointer, then argv. */
__attribute__((force_align_arg_pointer)) void start(long *sp)
{
	sys(SYS_exit, run((int)sp[0], (char **)(sp + 1)), 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %esp, %eax\n\tpush %eax\n\tcall start\n");
