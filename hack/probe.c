/* hull-probe: a tiny static helper that hack/mkrootfs puts in the test rootfs, for what
 * busybox cannot show. `hull-probe ids` prints the real, effective and saved uids (a setuid
 * copy, /bin/hull-probe-suid, shows whether exec granted privileges). `hull-probe lock FILE
 * CMD...` takes an exclusive flock on FILE and execs CMD holding it (Debian's busybox has no
 * flock); `hull-probe trylock FILE` prints "got" or "held". `hull-probe thread-getppid`
 * calls getppid in a second thread, then the main thread prints "main alive" (seccomp's
 * KILL_THREAD ends only that thread, KILL_PROCESS all of it). `hull-probe mkdir DIR` prints
 * "made" or the error (the i386 build, hull-probe32, makes the call in the x86 ABI). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
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

int main(int argc, char **argv)
{
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
	fprintf(stderr, "usage: hull-probe ids | lock FILE CMD... | trylock FILE | thread-getppid | mkdir DIR\n");
	return 2;
}
