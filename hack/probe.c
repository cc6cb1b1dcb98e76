/* hull-probe: a tiny static helper that hack/mkrootfs puts in the test rootfs, for what
 * busybox cannot show. `hull-probe ids` prints the real, effective and saved uids (a setuid
 * copy, /bin/hull-probe-suid, shows whether exec granted privileges). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "ids") == 0) {
		uid_t r, e, s;
		getresuid(&r, &e, &s);
		printf("ruid=%u euid=%u suid=%u\n", r, e, s);
		return 0;
	}
	fprintf(stderr, "usage: hull-probe ids\n");
	return 2;
}
