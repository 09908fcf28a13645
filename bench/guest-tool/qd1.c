/*
 * qd1: queue-depth-1 block I/O timer for the benchmark guest (i386, no libc).
 *   qd1 now              prints CLOCK_MONOTONIC in ns (busybox date has no %N)
 *   qd1 rand DEV COUNT   COUNT reads of 4 KiB at pseudo-random 4 KiB-aligned offsets (O_DIRECT)
 * One process does all requests back to back, so the figure is the block path (syscall,
 * virtio request, device, interrupt, wake-up) without a fork/exec per request.
 * Prints "ops=N ns=T bytes=B" (T from CLOCK_MONOTONIC around the loop).
 * Built by bench/run.ts with i686-linux-gnu-gcc -static -nostdlib; sent to the guest over the console.
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
#define SYS_write 4
#define SYS_open 5
#define SYS_pread64 180
#define SYS_clock_gettime 265
#define SYS_ioctl 54
#define O_RDONLY 0
#define O_DIRECT 040000
#define BLKGETSIZE64 0x80041272

struct ts { long sec; long nsec; };
static unsigned char buf[4096 * 2];

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
static u64 atou(const char *s) { u64 v = 0; while (*s >= '0' && *s <= '9') v = v * 10 + (u64)(*s++ - '0'); return v; }
static void die(const char *m) { puts_(m); puts_("\n"); sys3(SYS_exit, 1, 0, 0); }

void cmain(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  if (argc == 2 && argv[1][0] == 'n') {
    char a[24];
    puts_(utoa(now(), a + 24)); puts_("\n");
    sys3(SYS_exit, 0, 0, 0);
  }
  if (argc != 4 || argv[1][0] != 'r') die("usage: qd1 now | qd1 rand DEV COUNT");
  long fd = sys3(SYS_open, (long)argv[2], O_RDONLY | O_DIRECT, 0);
  if (fd < 0) die("open failed");
  u64 size = 0;
  if (sys3(SYS_ioctl, fd, BLKGETSIZE64, (long)&size) < 0 || size < 8192) die("size failed");
  u32 blocks = (u32)(size / 4096);
  u64 count = atou(argv[3]);
  unsigned char *p = (unsigned char *)(((unsigned long)buf + 4095) & ~4095ul);
  u32 x = 2463534242u;
  u64 t0 = now();
  for (u64 i = 0; i < count; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    u64 off = (u64)(x % blocks) * 4096;
    long r = sys5(SYS_pread64, fd, (long)p, 4096, (long)(u32)off, (long)(u32)(off >> 32));
    if (r != 4096) die("pread failed");
  }
  u64 t1 = now();
  char a[24], b[24], c[24];
  puts_("ops="); puts_(utoa(count, a + 24));
  puts_(" ns="); puts_(utoa(t1 - t0, b + 24));
  puts_(" bytes="); puts_(utoa(count * 4096, c + 24));
  puts_("\n");
  sys3(SYS_exit, 0, 0, 0);
}

__asm__(".globl _start\n_start:\n xor %ebp, %ebp\n mov %esp, %eax\n and $-16, %esp\n sub $12, %esp\n push %eax\n call cmain\n hlt\n");
