/*
 * Definitions for the C library symbols the native addons reference that glibc 2.28 does not have
 * at all (so no .symver pin can reach them). scripts/binary/linux-natives.ts compiles this file and
 * links it into each addon with `-Wl,--wrap=NAME`, which sends the addon's references to NAME to
 * __wrap_NAME here. Each function does what glibc 2.28's own headers compiled to.
 */
#define _GNU_SOURCE 1 /* struct stat64 */
#include <sys/stat.h>
#include <fcntl.h>

/* glibc 2.33 made stat, fstat, lstat and fstatat exported functions (GLIBC_2.33). Before, <sys/stat.h>
 * turned them into calls to __xstat64, __fxstat64, __lxstat64 and __fxstatat64 with the structure
 * version _STAT_VER_LINUX (1 on x86_64); those are in every glibc since 2.2.5. */
#define PI_STAT_VER 1
extern int __xstat64(int, const char *, struct stat64 *);
extern int __fxstat64(int, int, struct stat64 *);
extern int __lxstat64(int, const char *, struct stat64 *);
extern int __fxstatat64(int, int, const char *, struct stat64 *, int);
__asm__(".symver __xstat64,__xstat64@GLIBC_2.2.5");
__asm__(".symver __fxstat64,__fxstat64@GLIBC_2.2.5");
__asm__(".symver __lxstat64,__lxstat64@GLIBC_2.2.5");
__asm__(".symver __fxstatat64,__fxstatat64@GLIBC_2.4");

#define HIDDEN __attribute__((visibility("hidden")))
HIDDEN int __wrap_stat64(const char *path, struct stat64 *buf) { return __xstat64(PI_STAT_VER, path, buf); }
HIDDEN int __wrap_fstat64(int fd, struct stat64 *buf) { return __fxstat64(PI_STAT_VER, fd, buf); }
HIDDEN int __wrap_lstat64(const char *path, struct stat64 *buf) { return __lxstat64(PI_STAT_VER, path, buf); }
HIDDEN int __wrap_fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags) {
  return __fxstatat64(PI_STAT_VER, dirfd, path, buf, flags);
}
/* On x86_64 struct stat is struct stat64: the unsuffixed names are the same calls. */
HIDDEN int __wrap_stat(const char *path, struct stat64 *buf) { return __xstat64(PI_STAT_VER, path, buf); }
HIDDEN int __wrap_fstat(int fd, struct stat64 *buf) { return __fxstat64(PI_STAT_VER, fd, buf); }
HIDDEN int __wrap_lstat(const char *path, struct stat64 *buf) { return __lxstat64(PI_STAT_VER, path, buf); }
HIDDEN int __wrap_fstatat(int dirfd, const char *path, struct stat64 *buf, int flags) {
  return __fxstatat64(PI_STAT_VER, dirfd, path, buf, flags);
}

/* glibc 2.32 added __libc_single_threaded, which GCC 11+'s libstdc++ headers read to skip atomic
 * reference counting in a single-threaded process. Zero means "may be multi-threaded": the addon
 * always uses the atomic operations, which is what it did with glibc 2.28's headers. */
HIDDEN char __wrap___libc_single_threaded = 0;
