/*
 * glibc's fortified fprintf, for Debian's libseccomp.a (built against glibc) in hull's musl
 * build (build.rs says why). libseccomp calls it only when exporting a filter as text, which
 * hull never does; if it ever did, this prints as fprintf would.
 */
#include <stdarg.h>

typedef struct _IO_FILE FILE;
int vfprintf(FILE *stream, const char *format, va_list ap);

int __fprintf_chk(FILE *stream, int flag, const char *format, ...)
{
	(void)flag;
	va_list ap;
	va_start(ap, format);
	int n = vfprintf(stream, format, ap);
	va_end(ap);
	return n;
}
