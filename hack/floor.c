/* hack/floor: the kernel's own cost of a container start, for hack/bench to read every runtime
 * against. It does exactly the kernel work hack/bench's `run /bin/true` bundle asks for and
 * nothing else: no config to parse, no state to keep, no checks, no messages.
 *
 *   floor ROOTFS CGROUP_PATH
 *
 * The work: a cgroup directory in each v1 hierarchy (a hybrid host's too) with the default
 * device rules; clone with the pid, mount, network, ipc and uts namespaces; the child joins
 * its cgroups, brings up the new network namespace's loopback and joins a new session keyring
 * (both runc's, hence every compatible runtime's, for this bundle), makes its mounts (rslave /, the rootfs bound on itself, proc, a /dev tmpfs,
 * devpts, shm, mqueue, a read-only sysfs), the default device nodes and /dev links,
 * pivot_root, the read-only root, the hostname, and execs /bin/true; the parent waits and
 * removes the cgroups. Errors exit 1 with the step's name: a floor that fails is no floor. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	_exit(1);
}

static void write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		die(path);
	close(fd);
}

/* A new cpuset directory gets its parent's CPUs and memory nodes. */
static void inherit_cpuset(const char *dir)
{
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "cpuset.mems" : "cpuset.cpus";
		char buf[256], file[1100];
		snprintf(file, sizeof(file), "%s/../%s", dir, name);
		int fd = open(file, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			die(file);
		buf[n] = 0;
		snprintf(file, sizeof(file), "%s/%s", dir, name);
		write_file(file, buf);
	}
}

#define MAX_DIRS 16
static char dirs[MAX_DIRS][1024];
static int ndirs;

/* The cgroup's directory in every hierarchy mounted under /sys/fs/cgroup. */
static void make_cgroups(const char *path)
{
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	if (!d)
		die("/sys/fs/cgroup");
	while ((e = readdir(d)) && ndirs < MAX_DIRS) {
		char probe[512];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(probe, sizeof(probe), "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
		if (lstat(probe, &st) != 0)
			continue;
		snprintf(dirs[ndirs], sizeof(dirs[0]), "/sys/fs/cgroup/%s%s", e->d_name, path);
		/* Parents first, as every runtime makes them; a new cpuset needs its CPUs and
		 * memory nodes before anything can join it, at every level. */
		int cpuset = strcmp(e->d_name, "cpuset") == 0;
		char *p = dirs[ndirs] + strlen("/sys/fs/cgroup/") + strlen(e->d_name) + 1;
		for (;;) {
			p = strchr(p + 1, '/');
			if (p)
				*p = 0;
			if (mkdir(dirs[ndirs], 0755) != 0 && errno != EEXIST)
				die(dirs[ndirs]);
			if (cpuset)
				inherit_cpuset(dirs[ndirs]);
			if (!p)
				break;
			*p = '/';
		}
		if (strcmp(e->d_name, "devices") == 0) {
			static const char *rules[] = {"a", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm",
						      "c 1:9 rwm", "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm"};
			char file[1100];
			snprintf(file, sizeof(file), "%s/devices.deny", dirs[ndirs]);
			write_file(file, rules[0]);
			snprintf(file, sizeof(file), "%s/devices.allow", dirs[ndirs]);
			for (unsigned i = 1; i < sizeof(rules) / sizeof(rules[0]); i++)
				write_file(file, rules[i]);
		}
		ndirs++;
	}
	closedir(d);
}

/* A single thread moving itself through v1's `tasks` skips the kernel's threadgroup lock
 * (and the RCU grace period it waits for); cgroup2 has only cgroup.procs. */
static void join_cgroups(void)
{
	for (int i = 0; i < ndirs; i++) {
		char file[1100];
		snprintf(file, sizeof(file), "%s/tasks", dirs[i]);
		if (access(file, W_OK) != 0)
			snprintf(file, sizeof(file), "%s/cgroup.procs", dirs[i]);
		write_file(file, "0");
	}
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags,
		const char *data)
{
	if (mount(src, dst, type, flags, data) != 0)
		die(dst);
}

/* A new network namespace's loopback is down; runc brings it up. */
static void loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_name = "lo"};
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		die("lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
		die("lo up");
	close(fd);
}

/* A session keyring of the container's own (runc: "_ses.<id>"), its possessor's and user's
 * rights as runc sets them. */
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SETPERM 5
static void session_keyring(void)
{
	long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "_ses.floor");
	if (id < 0 || syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f1b0000) != 0)
		die("session keyring");
}

static int child(const char *rootfs)
{
	join_cgroups();
	loopback_up();
	session_keyring();
	mnt(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL);
	mnt(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL);
	if (chdir(rootfs) != 0)
		die(rootfs);
	mnt("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mnt("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	mkdir("dev/pts", 0755);
	mnt("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
	mkdir("dev/shm", 0755);
	mnt("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=1777,size=65536k");
	mkdir("dev/mqueue", 0755);
	mnt("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);
	mnt("sysfs", "sys", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, NULL);
	static const struct {
		const char *name;
		int major, minor;
	} devs[] = {{"dev/null", 1, 3}, {"dev/zero", 1, 5}, {"dev/full", 1, 7},
		    {"dev/random", 1, 8}, {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
	umask(0);
	for (unsigned i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) != 0)
			die(devs[i].name);
	static const char *links[][2] = {{"/proc/self/fd", "dev/fd"}, {"/proc/self/fd/0", "dev/stdin"},
					 {"/proc/self/fd/1", "dev/stdout"}, {"/proc/self/fd/2", "dev/stderr"},
					 {"pts/ptmx", "dev/ptmx"}};
	for (unsigned i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) != 0)
			die(links[i][1]);
	umask(022);
	if (syscall(SYS_pivot_root, ".", ".") != 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) != 0)
		die("umount of the old root");
	if (chdir("/") != 0)
		die("chdir /");
	mnt(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
	if (sethostname("bench", 5) != 0)
		die("sethostname");
	char *argv[] = {"/bin/true", NULL};
	char *envp[] = {"PATH=/bin:/sbin:/usr/bin", NULL};
	execve(argv[0], argv, envp);
	die("execve /bin/true");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: floor ROOTFS CGROUP_PATH\n");
		return 2;
	}
	make_cgroups(argv[2]);
	static char stack[64 * 1024] __attribute__((aligned(16)));
	int (*fn)(void *) = (int (*)(void *))child;
	pid_t pid = clone(fn, stack + sizeof(stack),
			  CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
			  argv[1]);
	if (pid < 0)
		die("clone");
	int status;
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	for (int i = ndirs - 1; i >= 0; i--)
		while (rmdir(dirs[i]) != 0 && errno == EBUSY)
			usleep(1000);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
