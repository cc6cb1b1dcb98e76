/* hack/trace-functions: which of hull's instructions one command executes, for
 * hack/hot-functions (which orders hull's hot functions together; see there why).
 *
 *   trace-functions OUT TEXT_START TEXT_END -- hull ARGS...
 *
 * Runs the command under ptrace, single-stepping it and every process it forks until they
 * exec something else (init's trampoline, the container's program), and writes to OUT the
 * distinct instruction offsets (hex, relative to the binary's load address, within
 * [TEXT_START, TEXT_END)) executed, each as "P <offset>" for the first process (the command
 * itself) and "C <offset>" for its children. Slow (every instruction stops): a dev tool. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char *seen[2];
static unsigned long lo, hi, base;

static void die(const char *what)
{
	fprintf(stderr, "trace-functions: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The load address of the traced binary: the start of its first mapping. */
static unsigned long load_base(pid_t pid, const char *exe)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		die(path);
	char real[4096];
	if (!realpath(exe, real))
		die(exe);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start;
		char file[4096] = "";
		if (sscanf(line, "%lx-%*lx %*s %*s %*s %*s %4095s", &start, file) >= 1 &&
		    strcmp(file, real) == 0) {
			fclose(f);
			return start;
		}
	}
	fprintf(stderr, "trace-functions: %s not mapped in %d\n", real, pid);
	exit(1);
}

int main(int argc, char **argv)
{
	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: trace-functions OUT TEXT_START TEXT_END -- CMD ARGS...\n");
		return 2;
	}
	lo = strtoul(argv[2], 0, 16);
	hi = strtoul(argv[3], 0, 16);
	seen[0] = calloc(hi - lo, 1);
	seen[1] = calloc(hi - lo, 1);
	pid_t first = fork();
	if (first < 0)
		die("fork");
	if (first == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		execvp(argv[5], argv + 5);
		_exit(127);
	}
	int status;
	waitpid(first, &status, 0);
	long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
		    PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
	if (ptrace(PTRACE_SETOPTIONS, first, 0, opts) < 0)
		die("PTRACE_SETOPTIONS");
	/* Run (not step) to the exec of the command, then step from there. */
	ptrace(PTRACE_CONT, first, 0, 0);
	int execd = 0;
	for (;;) {
		pid_t pid = waitpid(-1, &status, __WALL);
		if (pid < 0) {
			if (errno == ECHILD)
				break;
			die("waitpid");
		}
		if (WIFEXITED(status) || WIFSIGNALED(status))
			continue;
		int sig = WSTOPSIG(status), event = status >> 16;
		if (event == PTRACE_EVENT_EXEC) {
			if (pid == first && !execd) {
				execd = 1;
				base = load_base(pid, argv[5]);
			} else {
				/* A process left hull's binary: no more to see there. */
				ptrace(PTRACE_DETACH, pid, 0, 0);
				continue;
			}
			sig = 0;
		} else if (event || sig == SIGTRAP) {
			sig = 0;
		} else if (sig == SIGSTOP) {
			/* A new child's first stop (it inherited the options). */
			sig = 0;
		}
		if (execd) {
			struct user_regs_struct regs;
			if (ptrace(PTRACE_GETREGS, pid, 0, &regs) == 0) {
				unsigned long off = regs.rip - base;
				if (off >= lo && off < hi)
					seen[pid != first][off - lo] = 1;
			}
			ptrace(PTRACE_SINGLESTEP, pid, 0, sig);
		} else {
			ptrace(PTRACE_CONT, pid, 0, sig);
		}
	}
	FILE *out = fopen(argv[1], "w");
	if (!out)
		die(argv[1]);
	for (int who = 0; who < 2; who++)
		for (unsigned long i = 0; i < hi - lo; i++)
			if (seen[who][i])
				fprintf(out, "%c %lx\n", who ? 'C' : 'P', lo + i);
	fclose(out);
	return 0;
}
