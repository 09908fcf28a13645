/*
 * vbench: the benchmark guest's measuring tool (i386, static, no libc: it is sent to the guest
 * over the serial console, so it must be small, and busybox has no timer finer than a second).
 *
 *   vbench now                          CLOCK_MONOTONIC in ns (busybox date has no %N)
 *   vbench rand DEV COUNT DEPTH         COUNT 4 KiB O_DIRECT reads at pseudo-random 4 KiB-aligned
 *                                       offsets, DEPTH at a time: DEPTH processes (fork) each
 *                                       doing COUNT/DEPTH back-to-back preads, so the block layer
 *                                       sees DEPTH requests outstanding (the kernel has no AIO).
 *                                       Prints "ops=N ns=T"; T is wall time from before the first
 *                                       fork to the last child's exit.
 *   vbench tcp-sink PORT                accepts one TCP connection, reads to EOF;
 *                                       prints "bytes=B ns=T" (T: first byte to EOF).
 *   vbench tcp-send ADDR PORT BYTES     connects, writes BYTES (64 KiB writes), closes.
 *   vbench udp-echo PORT COUNT          returns COUNT datagrams to their senders, then exits.
 *   vbench udp-ping ADDR PORT COUNT     COUNT 64-byte round trips, one at a time; prints
 *                                       "n=N min=A median=M p90=P" in ns, each timed alone.
 *   vbench spin ITERATIONS              the emulator's speed: a CPU-bound loop of exactly 8
 *                                       instructions per iteration (ALU, a load and a store);
 *                                       prints "instr=I ns=T", T the loop's CLOCK_MONOTONIC time.
 *
 * ADDR is dotted IPv4. Build: bench/guest-tool/build.sh (i686-linux-gnu-gcc -nostdlib -static).
 */
typedef unsigned int u32;
typedef unsigned long long u64;

static long sys3(long n, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
static long sys5(long n, long a, long b, long c, long d, long e) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
  return r;
}
#define SYS_exit 1
#define SYS_fork 2
#define SYS_read 3
#define SYS_write 4
#define SYS_open 5
#define SYS_close 6
#define SYS_ioctl 54
#define SYS_socketcall 102
#define SYS_wait4 114
#define SYS_pread64 180
#define SYS_clock_gettime 265
#define O_RDONLY 0
#define O_DIRECT 040000
#define BLKGETSIZE64 0x80041272
/* socketcall(2) call numbers: one entry point on i386, arguments in an array. */
#define SC_SOCKET 1
#define SC_BIND 2
#define SC_CONNECT 3
#define SC_LISTEN 4
#define SC_ACCEPT 5
#define SC_SENDTO 11
#define SC_RECVFROM 12
#define SC_SETSOCKOPT 14
#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define IPPROTO_TCP 6
#define TCP_NODELAY 1

struct ts { long sec; long nsec; };
struct sockaddr_in { unsigned short family; unsigned short port; u32 addr; unsigned char zero[8]; };

static unsigned char buf[65536 + 4096];

static u64 now(void) {
  struct ts t;
  sys3(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t, 0);
  return (u64)t.sec * 1000000000ull + (u64)t.nsec;
}
static long slen(const char *s) { long n = 0; while (s[n]) n++; return n; }
static void puts_(const char *s) { sys3(SYS_write, 1, (long)s, slen(s)); }
static char *utoa(u64 v, char *end) {
  *--end = 0;
  do { *--end = '0' + (char)(v % 10); v /= 10; } while (v);
  return end;
}
static void putu(const char *key, u64 v) { char a[24]; puts_(key); puts_(utoa(v, a + 24)); }
static u64 atou(const char *s) { u64 v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (u64)(*s++ - '0'); return v; }
static void die(const char *m) { puts_(m); puts_("\n"); sys3(SYS_exit, 1, 0, 0); }
static long sockcall(long call, long *args) { return sys3(SYS_socketcall, call, (long)args, 0); }
static unsigned short htons(unsigned short v) { return (unsigned short)((v << 8) | (v >> 8)); }

/* "a.b.c.d" -> network-order address. */
static u32 parse_ip(const char *s) {
  u32 parts[4] = {0, 0, 0, 0};
  for (int i = 0; i < 4; i++) {
    parts[i] = (u32)atou(s);
    while (*s >= '0' && *s <= '9') s++;
    if (*s == '.') s++;
  }
  return parts[0] | parts[1] << 8 | parts[2] << 16 | parts[3] << 24;
}
static void addr_of(struct sockaddr_in *a, u32 ip, long port) {
  unsigned char *p = (unsigned char *)a;
  for (unsigned i = 0; i < sizeof *a; i++) p[i] = 0;
  a->family = AF_INET;
  a->port = htons((unsigned short)port);
  a->addr = ip;
}

/* One reader: COUNT random 4 KiB preads with its own xorshift seed. */
static void rand_reads(const char *dev, u64 count, u32 seed) {
  long fd = sys3(SYS_open, (long)dev, O_RDONLY | O_DIRECT, 0);
  if (fd < 0) die("open failed");
  u64 size = 0;
  if (sys3(SYS_ioctl, fd, BLKGETSIZE64, (long)&size) < 0 || size < 8192) die("size failed");
  u32 blocks = (u32)(size / 4096);
  unsigned char *p = (unsigned char *)(((unsigned long)buf + 4095) & ~4095ul);
  u32 x = seed;
  for (u64 i = 0; i < count; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    u64 off = (u64)(x % blocks) * 4096;
    long r = sys5(SYS_pread64, fd, (long)p, 4096, (long)(u32)off, (long)(u32)(off >> 32));
    if (r != 4096) die("pread failed");
  }
  sys3(SYS_close, fd, 0, 0);
}

static void cmd_rand(const char *dev, u64 count, u64 depth) {
  if (depth < 1 || depth > 64) die("depth must be 1..64");
  u64 per = count / depth;
  u64 t0 = now();
  if (depth == 1) {
    rand_reads(dev, per, 2463534242u);
  } else {
    for (u64 k = 0; k < depth; k++) {
      long pid = sys3(SYS_fork, 0, 0, 0);
      if (pid < 0) die("fork failed");
      if (pid == 0) {
        rand_reads(dev, per, 2463534242u + (u32)k * 2654435761u);
        sys3(SYS_exit, 0, 0, 0);
      }
    }
    for (u64 k = 0; k < depth; k++) {
      int status = 0;
      if (sys5(SYS_wait4, -1, (long)&status, 0, 0, 0) < 0 || status != 0) die("child failed");
    }
  }
  u64 t1 = now();
  putu("ops=", per * depth);
  putu(" ns=", t1 - t0);
  puts_("\n");
}

static void cmd_tcp_sink(long port) {
  long args[5];
  args[0] = AF_INET; args[1] = SOCK_STREAM; args[2] = 0;
  long s = sockcall(SC_SOCKET, args);
  if (s < 0) die("socket failed");
  int one = 1;
  args[0] = s; args[1] = SOL_SOCKET; args[2] = SO_REUSEADDR; args[3] = (long)&one; args[4] = 4;
  sockcall(SC_SETSOCKOPT, args);
  struct sockaddr_in a;
  addr_of(&a, 0, port);
  args[0] = s; args[1] = (long)&a; args[2] = sizeof a;
  if (sockcall(SC_BIND, args) < 0) die("bind failed");
  args[0] = s; args[1] = 1;
  if (sockcall(SC_LISTEN, args) < 0) die("listen failed");
  args[0] = s; args[1] = 0; args[2] = 0;
  long c = sockcall(SC_ACCEPT, args);
  if (c < 0) die("accept failed");
  u64 total = 0, t0 = 0;
  for (;;) {
    long n = sys3(SYS_read, c, (long)buf, 65536);
    if (n < 0) die("read failed");
    if (n == 0) break;
    if (total == 0) t0 = now();
    total += (u64)n;
  }
  u64 t1 = now();
  putu("bytes=", total);
  putu(" ns=", t1 - t0);
  puts_("\n");
}

static long connect_to(long type, const char *ip, long port) {
  long args[5];
  args[0] = AF_INET; args[1] = type; args[2] = 0;
  long s = sockcall(SC_SOCKET, args);
  if (s < 0) die("socket failed");
  struct sockaddr_in a;
  addr_of(&a, parse_ip(ip), port);
  args[0] = s; args[1] = (long)&a; args[2] = sizeof a;
  if (sockcall(SC_CONNECT, args) < 0) die("connect failed");
  return s;
}

static void cmd_tcp_send(const char *ip, long port, u64 bytes) {
  long s = connect_to(SOCK_STREAM, ip, port);
  for (long i = 0; i < 65536; i++) buf[i] = (unsigned char)(i * 7);
  u64 left = bytes;
  u64 t0 = now();
  while (left > 0) {
    long chunk = left > 65536 ? 65536 : (long)left;
    long n = sys3(SYS_write, s, (long)buf, chunk);
    if (n <= 0) die("write failed");
    left -= (u64)n;
  }
  sys3(SYS_close, s, 0, 0);
  putu("bytes=", bytes);
  putu(" ns=", now() - t0);
  puts_("\n");
}

static void cmd_udp_echo(long port, u64 count) {
  long args[6];
  args[0] = AF_INET; args[1] = SOCK_DGRAM; args[2] = 0;
  long s = sockcall(SC_SOCKET, args);
  if (s < 0) die("socket failed");
  struct sockaddr_in a, from;
  addr_of(&a, 0, port);
  args[0] = s; args[1] = (long)&a; args[2] = sizeof a;
  if (sockcall(SC_BIND, args) < 0) die("bind failed");
  for (u64 i = 0; i < count; i++) {
    long fromlen = sizeof from;
    args[0] = s; args[1] = (long)buf; args[2] = 2048; args[3] = 0; args[4] = (long)&from; args[5] = (long)&fromlen;
    long n = sockcall(SC_RECVFROM, args);
    if (n < 0) die("recvfrom failed");
    args[0] = s; args[1] = (long)buf; args[2] = n; args[3] = 0; args[4] = (long)&from; args[5] = fromlen;
    if (sockcall(SC_SENDTO, args) < 0) die("sendto failed");
  }
}

/* Insertion sort: COUNT is a few hundred. */
static void sort(u64 *v, u64 n) {
  for (u64 i = 1; i < n; i++) {
    u64 x = v[i], j = i;
    while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
    v[j] = x;
  }
}

static u64 rtts[4096];

static void cmd_udp_ping(const char *ip, long port, u64 count) {
  if (count < 1 || count > 4096) die("count must be 1..4096");
  long s = connect_to(SOCK_DGRAM, ip, port);
  for (u64 i = 0; i < count; i++) {
    u64 t0 = now();
    if (sys3(SYS_write, s, (long)buf, 64) != 64) die("send failed");
    if (sys3(SYS_read, s, (long)buf, 2048) != 64) die("recv failed");
    rtts[i] = now() - t0;
  }
  sort(rtts, count);
  putu("n=", count);
  putu(" min=", rtts[0]);
  putu(" median=", rtts[count / 2]);
  putu(" p90=", rtts[count * 9 / 10]);
  puts_("\n");
}

/*
 * Exactly 8 instructions per iteration, written in assembly so the compiler cannot shorten it:
 * index, mask, load, add, xor, store, decrement, branch. The load and store go through a 4 KiB
 * table so the loop exercises the emulator's memory path, not only its registers.
 */
static u32 spin_table[1024];
static void cmd_spin(u64 iterations) {
  if (iterations < 1 || iterations > 500000000ull) die("iterations must be 1..500000000");
  u32 n = (u32)iterations;
  u64 t0 = now();
  __asm__ volatile(
      "1:\n"
      " mov %%ecx, %%eax\n"
      " and $1023, %%eax\n"
      " mov (%[t],%%eax,4), %%edx\n"
      " add %%ecx, %%edx\n"
      " xor $0x5bd1e995, %%edx\n"
      " mov %%edx, (%[t],%%eax,4)\n"
      " dec %%ecx\n"
      " jnz 1b\n"
      : "+c"(n)
      : [t] "r"(spin_table)
      : "eax", "edx", "memory", "cc");
  u64 t1 = now();
  putu("instr=", iterations * 8);
  putu(" ns=", t1 - t0);
  puts_("\n");
}

void cmain(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  const char *cmd = argc > 1 ? argv[1] : "";
  if (argc == 2 && cmd[0] == 'n') {
    char a[24];
    puts_(utoa(now(), a + 24)); puts_("\n");
  } else if (argc == 5 && cmd[0] == 'r') {
    cmd_rand(argv[2], atou(argv[3]), atou(argv[4]));
  } else if (argc == 3 && slen(cmd) == 8 && cmd[4] == 's' && cmd[5] == 'i') {
    cmd_tcp_sink((long)atou(argv[2]));
  } else if (argc == 5 && slen(cmd) == 8 && cmd[4] == 's' && cmd[5] == 'e') {
    cmd_tcp_send(argv[2], (long)atou(argv[3]), atou(argv[4]));
  } else if (argc == 4 && cmd[0] == 'u' && cmd[4] == 'e') {
    cmd_udp_echo((long)atou(argv[2]), atou(argv[3]));
  } else if (argc == 5 && cmd[0] == 'u' && cmd[4] == 'p') {
    cmd_udp_ping(argv[2], (long)atou(argv[3]), atou(argv[4]));
  } else if (argc == 3 && cmd[0] == 's' && cmd[1] == 'p') {
    cmd_spin(atou(argv[2]));
  } else {
    die("usage: vbench now | rand DEV COUNT DEPTH | tcp-sink PORT | tcp-send ADDR PORT BYTES | udp-echo PORT COUNT | udp-ping ADDR PORT COUNT | spin ITERATIONS");
  }
  sys3(SYS_exit, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n xor %ebp, %ebp\n mov %esp, %eax\n and $-16, %esp\n sub $12, %esp\n push %eax\n call cmain\n hlt\n");
