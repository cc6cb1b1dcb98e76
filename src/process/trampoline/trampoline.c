/*
 * hull's trampoline: the last image a container process runs before its own program.
 *
 * Why (CVE-2019-5736): if init called execve(program) itself, /proc/self/exe would still be
 * the hull binary on the host at that moment, and a program that is a `#!/proc/self/exe`
 * script would run hull's binary inside the container, where the container can open it
 * through /proc/PID/exe and, once it exits, write to it. hull instead execs this tiny static
 * program from a sealed memfd; it execs the real program. /proc/self/exe is then the memfd.
 *
 * argv: [MAGIC, hold, mode, path, args...]; it runs execve(path, args, envp). No libc:
 * ~1 KiB, no loader, nothing from the container's filesystem is needed to start it.
 *
 * `hold` is a decimal fd (or "-"): one that hull kept open across the exec into this program
 * and that must close at the program's own execve, because someone waits for that moment
 * (`start` on init's exec fifo, `hull exec` on its channel). It is made close-on-exec here;
 * if that fails (a seccomp profile without fcntl), it is closed, so it never leaks into the
 * program.
 *
 * `mode` says what comes before the execve:
 * - "-": nothing.
 * - "w<fd>": this is a container's init that hull handed over as soon as the container was
 *   built: it waits here for `start`, so that no process a container can see runs hull's
 *   binary in the created state. It makes itself non-dumpable (nothing in the container may
 *   ptrace it before the program runs, as init was), closes <fd> (init's end of hull's
 *   channel: the parent learns that init left hull's code and may report the container
 *   created), then blocks reading the one byte `start` writes to `hold` (the exec fifo).
 * - "f" or "f<fd>": this is an exec'd process that joined the container's pid namespace
 *   (which only its children enter), with the container's privileges and filter already: it
 *   forks, so that the first process the container can see is this program, not hull. The
 *   parent sends the child's pid up `hold` (hull's channel: the message hull's own fork
 *   sends) and exits; the child starts a session, with <fd> as its controlling terminal and
 *   stdio when given, and execs. A failure goes up the channel as hull's error message.
  */

#define MAGIC "hull-trampoline"

#if defined(__x86_64__)
#define SYS_read 0
#define SYS_close 3
#define SYS_write 1
#define SYS_prctl 157
#define SYS_clone 56
#define SYS_setsid 112
#define SYS_ioctl 16
#define SYS_dup2 33
#define SYS_fcntl 72
#define SYS_execve 59
#define SYS_exit 60
static long sys3(long n, long a, long b, long c)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return ret;
}
__asm__(".text\n.globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall trampoline_main\n\thlt\n");
#elif defined(__aarch64__)
#define SYS_read 63
#define SYS_close 57
#define SYS_write 64
#define SYS_prctl 167
#define SYS_clone 220
#define SYS_setsid 157
#define SYS_ioctl 29
#define SYS_dup3 24
#define SYS_fcntl 25
#define SYS_execve 221
#define SYS_exit 93
static long sys3(long n, long a, long b, long c)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}
__asm__(".text\n.globl _start\n_start:\n\tmov x0, sp\n\tbl trampoline_main\n\tbrk #0\n");
#else
#error "hull's trampoline: unsupported architecture"
#endif

static void say(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	sys3(SYS_write, 2, (long)s, n);
}

static void say_num(long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;
	buf[i] = 0;
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v && i > 0);
	say(buf + i);
}

/* What execve's usual failures say, in the words runc (Go) prints them. */
static const char *strerror_of(long e)
{
	switch (e) {
	case 1: return "operation not permitted";
	case 2: return "no such file or directory";
	case 7: return "argument list too long";
	case 8: return "exec format error";
	case 12: return "cannot allocate memory";
	case 13: return "permission denied";
	case 20: return "not a directory";
	case 21: return "is a directory";
	case 26: return "text file busy";
	case 36: return "file name too long";
	case 40: return "too many levels of symbolic links";
	case 80: return "accessing a corrupted shared library";
	default: return 0;
	}
}

#define F_SETFD 2
#define FD_CLOEXEC 1
#define PR_SET_DUMPABLE 4
#define EINTR 4
#define SIGCHLD 17
#define TIOCSCTTY 0x540E

/* "-" (or anything not a decimal number) is -1: no fd to hold. */
static long parse_fd(const char *s)
{
	long v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 1000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static int is_magic(const char *s)
{
	const char *m = MAGIC;
	while (*m && *s == *m)
		s++, m++;
	return *m == 0 && *s == 0;
}

/* hull's channel (src/process/channel.rs): one datagram per message here, its first byte
 * HULL_LAST ("the last part"), then the message: a tag and its payload. build.rs defines the
 * values from src/process/channel_wire.rs, hull's own. */

/* hull's Error message on the channel: its tag, then the text. */
static void report(long channel, const char *what, long err)
{
	char buf[160];
	long n = 0;
	buf[n++] = HULL_LAST;
	buf[n++] = HULL_ERROR;
	for (const char *p = what; *p && n < 120; p++)
		buf[n++] = *p;
	const char *why = strerror_of(-err);
	for (const char *p = why ? why : "failed"; *p && n < (long)sizeof(buf); p++)
		buf[n++] = *p;
	sys3(SYS_write, channel, (long)buf, n);
}

/* fd `from` as 0, 1 and 2, and closed. */
static long onto_stdio(long from)
{
	for (long fd = 0; fd < 3; fd++) {
		if (fd == from)
			continue;
#ifdef SYS_dup2
		long r = sys3(SYS_dup2, from, fd, 0);
#else
		long r = sys3(SYS_dup3, from, fd, 0);
#endif
		if (r < 0)
			return r;
	}
	if (from > 2)
		sys3(SYS_close, from, 0, 0);
	return 0;
}

/* Into the container's pid namespace: see "f" above. Returns in the child only. */
static void fork_into_pid_namespace(long channel, long terminal)
{
	long pid = sys3(SYS_clone, SIGCHLD, 0, 0);
	if (pid < 0) {
		report(channel, "forking into the container's pid namespace: ", pid);
		sys3(SYS_exit, 1, 0, 0);
	}
	if (pid > 0) {
		/* InitPid: its tag, the pid in 4 little-endian bytes. */
		unsigned char msg[6] = {HULL_LAST, HULL_INIT_PID, pid & 0xff, (pid >> 8) & 0xff,
					(pid >> 16) & 0xff, (pid >> 24) & 0xff};
		sys3(SYS_write, channel, (long)msg, sizeof(msg));
		sys3(SYS_exit, 0, 0, 0);
	}
	long r = sys3(SYS_setsid, 0, 0, 0);
	if (r < 0) {
		report(channel, "starting a session: ", r);
		sys3(SYS_exit, 1, 0, 0);
	}
	if (terminal < 0)
		return;
	r = sys3(SYS_ioctl, terminal, TIOCSCTTY, 0);
	if (r < 0) {
		report(channel, "making the pty our controlling terminal: ", r);
		sys3(SYS_exit, 1, 0, 0);
	}
	r = onto_stdio(terminal);
	if (r < 0) {
		report(channel, "making the pty our stdio: ", r);
		sys3(SYS_exit, 1, 0, 0);
	}
}

/* Init handed over at ready: see "w" above. */
static void wait_for_start(long hold, long release)
{
	if (sys3(SYS_prctl, PR_SET_DUMPABLE, 0, 0) < 0) {
		say("hull: init could not make itself non-dumpable\n");
		sys3(SYS_exit, 1, 0, 0);
	}
	sys3(SYS_close, release, 0, 0);
	char byte;
	long n;
	while ((n = sys3(SYS_read, hold, (long)&byte, 1)) == -EINTR)
		;
	if (n != 1) {
		say("hull: the exec fifo closed without a start signal\n");
		sys3(SYS_exit, 1, 0, 0);
	}
}

__attribute__((used, noreturn)) void trampoline_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	if (argc < 5 || !is_magic(argv[0])) {
		/* Not started by hull: e.g. a `#!/proc/self/exe` script. Do nothing. */
		say("hull: this program only runs as hull's exec trampoline\n");
		sys3(SYS_exit, 126, 0, 0);
	}
	long hold = parse_fd(argv[1]);
	const char *mode = argv[2];
	if (mode[0] == 'w')
		wait_for_start(hold, parse_fd(mode + 1));
	else if (mode[0] == 'f')
		fork_into_pid_namespace(hold, parse_fd(mode + 1));
	if (hold >= 0 && sys3(SYS_fcntl, hold, F_SETFD, FD_CLOEXEC) < 0)
		sys3(SYS_close, hold, 0, 0);
	long err = sys3(SYS_execve, (long)argv[3], (long)(argv + 4), (long)envp);
	const char *why = strerror_of(-err);
	say("hull: exec ");
	say(argv[3]);
	say(": ");
	if (why) {
		say(why);
	} else {
		say("errno ");
		say_num(-err);
	}
	say("\n");
	/* As runc's init when the program cannot be run after `start`. */
	sys3(SYS_exit, 255, 0, 0);
	__builtin_unreachable();
}
