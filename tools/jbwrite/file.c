/*
 * jbwrite's files: open, read, write and sync a regular file (also /proc/vmcore) or a block
 * device, at byte offsets, every error fatal with the path and the byte.
 */
#include "jbwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/fs.h>
#include <sys/ioctl.h>
#endif

static void file_stat(struct file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) != 0)
		die("%s: %s", f->path, strerror(errno));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->is_blk = S_ISBLK(st.st_mode);
	if (S_ISREG(st.st_mode)) {
		f->size = (u64)st.st_size;
		return;
	}
#ifdef BLKGETSIZE64
	if (f->is_blk) {
		uint64_t bytes;

		if (ioctl(f->fd, BLKGETSIZE64, &bytes) != 0)
			die("%s: cannot get the block device's size: %s", f->path, strerror(errno));
		f->size = bytes;
		return;
	}
#endif
	die("%s is neither a regular file nor a block device (a pipe cannot be used: the"
	    " size must be known before reading)",
	    f->path);
}

void file_open(struct file *f, const char *path, int flags)
{
	f->path = path;
	f->fd = open(path, flags | O_CLOEXEC, 0600); /* the image holds all of kernel A's RAM */
	if (f->fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	file_stat(f);
}

void file_read_at(const struct file *f, u64 off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(f->fd, (u8 *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read error at byte %llu: %s", f->path,
			    (unsigned long long)(off + done), strerror(errno));
		if (n == 0)
			die("%s: ends at byte %llu, expected %llu bytes", f->path,
			    (unsigned long long)(off + done), (unsigned long long)(off + len));
		done += (size_t)n;
	}
}

void file_write_at(const struct file *f, u64 off, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(f->fd, (const u8 *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("%s: write error at byte %llu: %s", f->path,
			    (unsigned long long)(off + done), n < 0 ? strerror(errno) : "no progress");
		done += (size_t)n;
	}
}

void file_sync(const struct file *f)
{
	if (fsync(f->fd) != 0)
		die("%s: fsync: %s", f->path, strerror(errno));
}
