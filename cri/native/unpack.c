/*
 * skiff-shim unpack: applies one uncompressed layer tar to a staging directory (the
 * upper directory of a staging snapshot), writing overlayfs's on-disk format.
 *
 * PROTOCOL
 *   skiff-shim unpack [--gzip] <target dir>   (main() calls unpack_main(argc - 1, argv + 1))
 *   stdin: the layer tar (ustar, GNU long names/links 'L'/'K', pax 'x' headers with path,
 *   linkpath, size, uid, gid, mtime and SCHILY.xattr.*; pax globals 'g' are ignored), or
 *   with --gzip that tar gzip-compressed (one or more members; anything else after the
 *   last member is refused). Decompressing and hashing here, in a process per layer,
 *   keeps ~200 MB per large image out of skiff-cri's event loop and heap.
 *   stdin is read to EOF even after the end-of-archive blocks, so the writer never gets
 *   EPIPE on a well-formed stream; a clean EOF at a header boundary also ends the archive
 *   (as Go's archive/tar accepts; the caller's diff id check catches truncation).
 *   stdout, on success: "sha256:<hex>\n", the digest of the whole uncompressed stream
 *   (the layer's diff id, which the caller compares with the image config's).
 *   stderr: one line. Success: "unpack: ok <entries> entries <bytes> bytes", exit 0.
 *   Refusal or failure: "unpack: <entry>: <reason>[: <strerror> (<errno>)]", exit 1
 *   (the target then holds a partial layer that the caller removes). Usage: exit 2.
 *
 * STAGES
 *   1. open the target as the root dirfd.
 *   2. per header block: verify the checksum, fold pending GNU/pax overrides in, clean
 *      the path lexically ("./", "//", leading "/" dropped; a ".." climbing above the
 *      root is refused), then resolve the parent directory with openat2(RESOLVE_IN_ROOT |
 *      RESOLVE_NO_MAGICLINKS) from the root dirfd, creating missing parents one by one
 *      the same way. Every change is then an *at call on that parent fd for the last
 *      component with no-follow semantics (O_NOFOLLOW|O_EXCL, AT_SYMLINK_NOFOLLOW,
 *      symlinkat, linkat without AT_SYMLINK_FOLLOW), so no path, symlink or hardlink in
 *      the layer can reach outside the target, and symlink texts are never followed.
 *   3. whiteouts: ".wh.<x>" becomes a 0:0 character device <x>; ".wh..wh..opq" sets
 *      trusted.overlay.opaque=y on its directory; other ".wh..wh." names are skipped.
 *      trusted.overlay.* xattrs inside the layer are refused (only this code sets them),
 *      and so are uid/gid 2^32-1 (chown's "unchanged").
 *   4. metadata per entry: lchown, xattrs, mode (after chown, so setuid/setgid/sticky
 *      survive), mtime; directories' mtimes are set at the end, after all their entries.
 *   5. drain stdin, report.
 */
#define OPENSSL_API_COMPAT 0x10101000L /* SHA256_*: no EVP provider machinery linked in */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <openssl/sha.h>
#include <zlib.h>

#include "unpack.h"

#define BLOCK 512
#define MAX_LONGNAME (64 * 1024)
#define MAX_PAX (1024 * 1024)
#define IOBUF (1024 * 1024)

struct xattr {
	char *name;
	char *value;
	size_t len;
};

struct entry {
	char *name;	/* as in the archive, for messages */
	char *link;
	char type;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t size;
	struct timespec mtime;
	unsigned major, minor;
	struct xattr *xattrs;
	size_t nxattrs;
};

/* Overrides collected from GNU 'L'/'K' and pax 'x' headers for the next entry. */
struct pending {
	char *path, *link;
	bool has_size, has_uid, has_gid, has_mtime;
	uint64_t size, uid, gid;
	struct timespec mtime;
	struct xattr *xattrs;
	size_t nxattrs;
};

struct dirtime {
	char *path;
	struct timespec mtime;
};

static jmp_buf up_fail_jmp;
static int up_root = -1;
static unsigned char *up_buf;
static size_t up_off, up_len;
static bool up_eof;
static bool up_gzip;
static z_stream up_z;
static unsigned char *up_zin;
static SHA256_CTX up_sha;
static unsigned long long up_entries, up_bytes;
static struct dirtime *up_dirs;
static size_t up_ndirs, up_capdirs;

__attribute__((noreturn, format(printf, 3, 4))) static void up_fail(const char *entry, int err,
								  const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "unpack: %s: ", entry && *entry ? entry : "(archive)");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s (%d)", strerror(err), err);
	fputc('\n', stderr);
	longjmp(up_fail_jmp, 1);
}

static void *up_alloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p)
		up_fail(NULL, ENOMEM, "allocation");
	return p;
}

/* ---- input ---- */

static size_t up_read(unsigned char *buf)
{
	for (;;) {
		ssize_t n = read(0, buf, IOBUF);
		if (n >= 0)
			return (size_t)n;
		if (errno != EINTR)
			up_fail(NULL, errno, "read stdin");
	}
}

/* Fills up_buf with the next uncompressed bytes; 0 at the end of the stream. */
static size_t up_inflate(void)
{
	static bool member_done;
	z_stream *z = &up_z;
	for (;;) {
		if (z->avail_in == 0) {
			z->next_in = up_zin;
			z->avail_in = (uInt)up_read(up_zin);
			if (z->avail_in == 0) {
				if (!member_done)
					up_fail(NULL, 0, "archive truncated (gzip stream)");
				return 0;
			}
		}
		if (member_done) { /* more input after a member: it must be another member */
			if (inflateReset(z) != Z_OK)
				up_fail(NULL, 0, "gzip: reset");
			member_done = false;
		}
		z->next_out = up_buf;
		z->avail_out = IOBUF;
		int rc = inflate(z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			member_done = true;
		else if (rc != Z_OK && rc != Z_BUF_ERROR)
			up_fail(NULL, 0, "gzip: %s", z->msg ? z->msg : "invalid data");
		if (z->avail_out < IOBUF)
			return IOBUF - z->avail_out;
	}
}

static size_t up_avail(void)
{
	if (up_off < up_len || up_eof)
		return up_len - up_off;
	up_off = 0;
	up_len = up_gzip ? up_inflate() : up_read(up_buf);
	up_eof = up_len == 0;
	SHA256_Update(&up_sha, up_buf, up_len);
	return up_len;
}

/* Moves n bytes of input to fd, or into dst, or discards them (fd < 0, dst NULL). */
static void up_copy(const char *entry, uint64_t n, int fd, void *dst)
{
	unsigned char *d = dst;
	while (n > 0) {
		size_t avail = up_avail();
		if (avail == 0)
			up_fail(entry, 0, "archive truncated");
		size_t take = avail < n ? avail : (size_t)n;
		const unsigned char *p = up_buf + up_off;
		if (d)
			memcpy(d, p, take), d += take;
		for (size_t done = 0; fd >= 0 && done < take;) {
			ssize_t w = write(fd, p + done, take - done);
			if (w < 0 && errno != EINTR)
				up_fail(entry, errno, "write");
			done += w > 0 ? (size_t)w : 0;
		}
		up_off += take;
		n -= take;
	}
}

static uint64_t up_padded(uint64_t n)
{
	return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* Reads an entry's data (a long name or pax block) into memory, NUL-terminated. */
static char *up_read_data(const char *entry, uint64_t size, uint64_t max)
{
	if (size > max)
		up_fail(entry, 0, "extension header of %llu bytes is too large",
			(unsigned long long)size);
	char *data = up_alloc((size_t)size + 1);
	up_copy(entry, size, -1, data);
	up_copy(entry, up_padded(size) - size, -1, NULL);
	return data;
}

/* ---- header parsing ---- */

static bool up_num(const unsigned char *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (f[0] & 0x80) { /* GNU base-256, big-endian; negative values refused */
		if (f[0] & 0x40)
			return false;
		v = f[0] & 0x3f;
		for (size_t i = 1; i < n; i++) {
			if (v >> 56)
				return false;
			v = v << 8 | f[i];
		}
		*out = v;
		return true;
	}
	size_t i = 0;
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] != 0 && f[i] != ' '; i++) {
		if (f[i] < '0' || f[i] > '7' || v >> 60)
			return false;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	*out = v;
	return true;
}

static char *up_field(const unsigned char *f, size_t n)
{
	size_t len = strnlen((const char *)f, n);
	char *s = up_alloc(len + 1);
	memcpy(s, f, len);
	return s;
}

static bool up_parse_decimal(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > UINT64_MAX / 10 - 1)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static void up_add_xattr(struct xattr **xs, size_t *n, const char *name, const char *v,
			 size_t len)
{
	*xs = realloc(*xs, (*n + 1) * sizeof(**xs));
	if (!*xs)
		up_fail(NULL, ENOMEM, "allocation");
	struct xattr *x = &(*xs)[(*n)++];
	x->name = strdup(name);
	x->value = up_alloc(len + 1);
	memcpy(x->value, v, len);
	x->len = len;
}

/* pax records: "<len> <key>=<value>\n", len counting the whole record. */
static void up_parse_pax(const char *entry, char *d, size_t size, struct pending *p)
{
	size_t off = 0;
	while (off < size) {
		size_t sp = off;
		while (sp < size && d[sp] != ' ')
			sp++;
		uint64_t len;
		if (sp >= size || !up_parse_decimal(d + off, sp - off, &len) || len > size - off ||
		    len < 5 || d[off + len - 1] != '\n')
			up_fail(entry, 0, "malformed pax record");
		char *key = d + sp + 1, *end = d + off + len - 1;
		char *eq = memchr(key, '=', (size_t)(end - key));
		if (!eq)
			up_fail(entry, 0, "malformed pax record");
		*eq = 0;
		char *val = eq + 1;
		size_t vlen = (size_t)(end - val);
		uint64_t n;
		if (strcmp(key, "path") == 0) {
			free(p->path);
			p->path = strndup(val, vlen);
		} else if (strcmp(key, "linkpath") == 0) {
			free(p->link);
			p->link = strndup(val, vlen);
		} else if (strcmp(key, "size") == 0 || strcmp(key, "uid") == 0 ||
			   strcmp(key, "gid") == 0) {
			if (!up_parse_decimal(val, vlen, &n))
				up_fail(entry, 0, "bad pax %s", key);
			if (key[0] == 's')
				p->has_size = true, p->size = n;
			else if (key[0] == 'u')
				p->has_uid = true, p->uid = n;
			else
				p->has_gid = true, p->gid = n;
		} else if (strcmp(key, "mtime") == 0) {
			char *dot = memchr(val, '.', vlen);
			size_t ilen = dot ? (size_t)(dot - val) : vlen;
			if (!up_parse_decimal(val, ilen, &n)) { /* e.g. before 1970: keep the header's */
				off += len;
				continue;
			}
			p->has_mtime = true;
			p->mtime.tv_sec = (time_t)n;
			p->mtime.tv_nsec = 0;
			if (dot) {
				long ns = 0;
				int digits = 0;
				for (char *c = dot + 1; c < end && *c >= '0' && *c <= '9'; c++)
					if (digits < 9)
						ns = ns * 10 + (*c - '0'), digits++;
				while (digits++ < 9)
					ns *= 10;
				p->mtime.tv_nsec = ns;
			}
		} else if (strncmp(key, "SCHILY.xattr.", 13) == 0 && key[13]) {
			up_add_xattr(&p->xattrs, &p->nxattrs, key + 13, val, vlen);
		}
		off += len;
	}
}

/* ---- paths ---- */

/* Cleans an archive path into a relative one ("" is the root); NULL if it climbs out. */
static char *up_clean(const char *in)
{
	size_t n = strlen(in);
	char *out = up_alloc(n + 1);
	size_t len = 0;
	for (const char *c = in; *c;) {
		while (*c == '/')
			c++;
		const char *s = c;
		while (*c && *c != '/')
			c++;
		size_t cl = (size_t)(c - s);
		if (cl == 0 || (cl == 1 && s[0] == '.'))
			continue;
		if (cl == 2 && s[0] == '.' && s[1] == '.') {
			if (len == 0) {
				free(out);
				return NULL;
			}
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			continue;
		}
		if (len > 0)
			out[len++] = '/';
		memcpy(out + len, s, cl);
		len += cl;
	}
	out[len] = 0;
	return out;
}

/* Opens a directory of the target by its cleaned path, resolved inside the root. */
static int up_open_in_root(const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_DIRECTORY | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, up_root, *rel ? rel : ".", &how, sizeof(how));
}

/* Opens the parent of `path` (split at its last '/'), creating missing directories. */
static int up_open_parent(const char *entry, char *path, const char **base, bool create)
{
	char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!slash)
		return up_open_in_root("", O_PATH);
	*slash = 0;
	int fd = up_open_in_root(path, O_PATH);
	if (fd < 0 && errno == ENOENT && create) {
		for (char *c = path;; c++) { /* each prefix in turn: open it, or make it */
			if (*c != '/' && *c != 0)
				continue;
			char saved = *c;
			*c = 0;
			int d = up_open_in_root(path, O_PATH);
			if (d < 0 && errno == ENOENT) {
				char *ls = strrchr(path, '/');
				int p = ls ? (*ls = 0, up_open_in_root(path, O_PATH))
					   : up_open_in_root("", O_PATH);
				if (ls)
					*ls = '/';
				if (p < 0 || (mkdirat(p, ls ? ls + 1 : path, 0755) < 0 && errno != EEXIST))
					up_fail(entry, errno, "create parent %s", path);
				close(p);
				d = up_open_in_root(path, O_PATH);
			}
			if (d < 0)
				up_fail(entry, errno, "open parent %s", path);
			close(d);
			*c = saved;
			if (saved == 0)
				break;
		}
		fd = up_open_in_root(path, O_PATH);
	}
	if (fd < 0)
		up_fail(entry, errno, "open parent %s", path);
	*slash = '/';
	return fd;
}

static void up_remove_tree(const char *entry, int pfd, const char *name)
{
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir)
		up_fail(entry, errno, "open %s for removal", name);
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			up_fail(entry, errno, "stat %s", de->d_name);
		if (S_ISDIR(st.st_mode))
			up_remove_tree(entry, fd, de->d_name);
		else if (unlinkat(fd, de->d_name, 0) < 0)
			up_fail(entry, errno, "remove %s", de->d_name);
	}
	closedir(dir);
	if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
		up_fail(entry, errno, "remove %s", name);
}

/* Removes what is at pfd/name; returns true if it is a directory kept for keep_dir. */
static bool up_clear(const char *entry, int pfd, const char *name, bool keep_dir)
{
	struct stat st;
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return false;
		up_fail(entry, errno, "stat");
	}
	if (S_ISDIR(st.st_mode)) {
		if (keep_dir)
			return true;
		up_remove_tree(entry, pfd, name);
	} else if (unlinkat(pfd, name, 0) < 0) {
		up_fail(entry, errno, "replace");
	}
	return false;
}

/* ---- metadata ---- */

static void up_set_xattr(const char *entry, int pfd, const char *name, int fd,
			 const struct xattr *x)
{
	char path[64 + NAME_MAX];
	int r;
	if (fd >= 0) {
		r = fsetxattr(fd, x->name, x->value, x->len, 0);
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, name);
		r = lsetxattr(path, x->name, x->value, x->len, 0);
	}
	if (r < 0 && errno != EOPNOTSUPP)
		up_fail(entry, errno, "set xattr %s", x->name);
}

/* chown, xattrs, chmod (after chown: it clears setuid/setgid), then the mtime. */
static void up_meta(const char *entry, const char *path, int pfd, const char *name, int fd,
		    const struct entry *e)
{
	bool is_link = e->type == '2', is_dir = e->type == '5';
	int r = fd >= 0 ? fchown(fd, e->uid, e->gid)
			: fchownat(pfd, name, e->uid, e->gid, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		up_fail(entry, errno, "chown");
	for (size_t i = 0; i < e->nxattrs; i++)
		up_set_xattr(entry, pfd, name, fd, &e->xattrs[i]);
	if (!is_link) {
		r = fd >= 0 ? fchmod(fd, e->mode & 07777)
			    : fchmodat(pfd, name, e->mode & 07777, AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			up_fail(entry, errno, "chmod");
	}
	if (is_dir) {
		if (up_ndirs == up_capdirs) {
			up_capdirs = up_capdirs ? up_capdirs * 2 : 64;
			up_dirs = realloc(up_dirs, up_capdirs * sizeof(*up_dirs));
			if (!up_dirs)
				up_fail(entry, ENOMEM, "allocation");
		}
		up_dirs[up_ndirs].path = strdup(path);
		up_dirs[up_ndirs++].mtime = e->mtime;
		return;
	}
	struct timespec ts[2] = {e->mtime, e->mtime};
	r = fd >= 0 ? futimens(fd, ts) : utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW);
	if (r < 0)
		up_fail(entry, errno, "set times");
}

static void up_dir_times(void)
{
	for (size_t i = up_ndirs; i-- > 0;) {
		struct dirtime *d = &up_dirs[i];
		struct timespec ts[2] = {d->mtime, d->mtime};
		int fd = up_open_in_root(d->path, O_PATH);
		if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
			continue; /* replaced by a later entry */
		if (fd < 0 || utimensat(fd, "", ts, AT_EMPTY_PATH) < 0)
			up_fail(d->path, errno, "set times");
		close(fd);
	}
}

/* ---- entries ---- */

static void up_whiteout(const char *entry, int pfd, const char *name)
{
	static const struct xattr opaque = {"trusted.overlay.opaque", "y", 1};
	if (strcmp(name, ".wh..wh..opq") == 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pfd);
		if (setxattr(path, opaque.name, opaque.value, opaque.len, 0) < 0)
			up_fail(entry, errno, "set opaque");
		return;
	}
	if (strncmp(name, ".wh..wh.", 8) == 0)
		return;
	const char *target = name + 4;
	if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
		up_fail(entry, 0, "invalid whiteout");
	up_clear(entry, pfd, target, false);
	if (mknodat(pfd, target, S_IFCHR | 0, makedev(0, 0)) < 0 ||
	    fchownat(pfd, target, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		up_fail(entry, errno, "create whiteout");
}

static void up_apply(struct entry *e)
{
	const char *entry = e->name;
	char *path = up_clean(e->name);
	if (!path)
		up_fail(entry, 0, "path climbs out of the target");
	if (!*path) { /* the root itself */
		if (e->type != '5')
			up_fail(entry, 0, "the root must be a directory");
		up_meta(entry, path, up_root, ".", -1, e);
		free(path);
		return;
	}
	const char *name;
	int pfd = up_open_parent(entry, path, &name, true);
	if (strncmp(name, ".wh.", 4) == 0) {
		up_whiteout(entry, pfd, name);
		close(pfd);
		free(path);
		return;
	}
	int fd = -1;
	switch (e->type) {
	case '0':
	case '7':
		up_clear(entry, pfd, name, false);
		fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			up_fail(entry, errno, "create");
		up_copy(entry, e->size, fd, NULL);
		up_copy(entry, up_padded(e->size) - e->size, -1, NULL);
		up_bytes += e->size;
		break;
	case '5':
		if (!up_clear(entry, pfd, name, true) && mkdirat(pfd, name, 0700) < 0)
			up_fail(entry, errno, "mkdir");
		fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			up_fail(entry, errno, "open directory");
		break;
	case '2':
		up_clear(entry, pfd, name, false);
		if (symlinkat(e->link, pfd, name) < 0)
			up_fail(entry, errno, "symlink");
		break;
	case '1': {
		char *target = up_clean(e->link);
		if (!target || !*target)
			up_fail(entry, 0, "hardlink target %s is outside the target", e->link);
		const char *tname;
		int tfd = up_open_parent(entry, target, &tname, false);
		struct stat a, b;
		if (fstatat(tfd, tname, &a, AT_SYMLINK_NOFOLLOW) < 0)
			up_fail(entry, errno, "hardlink target %s", e->link);
		if (fstatat(pfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev) {
			close(tfd), free(target), close(pfd), free(path);
			return;
		}
		up_clear(entry, pfd, name, false);
		if (linkat(tfd, tname, pfd, name, 0) < 0)
			up_fail(entry, errno, "hardlink to %s", e->link);
		close(tfd);
		free(target);
		close(pfd);
		free(path);
		return; /* a hardlink shares its target's metadata */
	}
	case '3':
	case '4':
	case '6': {
		mode_t kind = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
		up_clear(entry, pfd, name, false);
		if (mknodat(pfd, name, kind | 0600, makedev(e->major, e->minor)) < 0)
			up_fail(entry, errno, "mknod");
		break;
	}
	default:
		up_fail(entry, 0, "unsupported entry type '%c'", e->type);
	}
	up_meta(entry, path, pfd, name, fd, e);
	if (fd >= 0)
		close(fd);
	close(pfd);
	free(path);
}

static void up_free_xattrs(struct xattr *xs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(xs[i].name), free(xs[i].value);
	free(xs);
}

/* Reads headers until the end of the archive; false at the end. */
static bool up_next(struct pending *p)
{
	unsigned char h[BLOCK];
	if (up_avail() == 0)
		return false; /* a clean EOF without end blocks, as Go's archive/tar accepts */
	up_copy(NULL, BLOCK, -1, h);
	bool zero = true;
	for (int i = 0; i < BLOCK && zero; i++)
		zero = h[i] == 0;
	if (zero)
		return false;
	char *raw = up_field(h, 100);
	uint64_t sum, mode, uid, gid, size, mtime, major = 0, minor = 0;
	uint64_t calc = 0;
	for (int i = 0; i < BLOCK; i++)
		calc += (i >= 148 && i < 156) ? ' ' : h[i];
	if (!up_num(h + 148, 8, &sum) || sum != calc)
		up_fail(raw, 0, "bad header checksum");
	if (!up_num(h + 100, 8, &mode) || !up_num(h + 108, 8, &uid) ||
	    !up_num(h + 116, 8, &gid) || !up_num(h + 124, 12, &size) ||
	    !up_num(h + 136, 12, &mtime))
		up_fail(raw, 0, "bad numeric field");
	if (p->has_uid)
		uid = p->uid;
	if (p->has_gid)
		gid = p->gid;
	if (uid >= UINT32_MAX || gid >= UINT32_MAX) /* (uid_t)-1 would mean "unchanged" */
		up_fail(raw, 0, "uid or gid out of range");
	char type = (char)h[156];
	bool ustar = memcmp(h + 257, "ustar", 6) == 0; /* POSIX: "ustar\0"; GNU: "ustar " */
	if (memcmp(h + 257, "ustar", 5) == 0 &&
	    (!up_num(h + 329, 8, &major) || !up_num(h + 337, 8, &minor)))
		up_fail(raw, 0, "bad device number");
	if (p->has_size)
		size = p->size;
	if (type == 'L' || type == 'K') {
		char *s = up_read_data(raw, size, MAX_LONGNAME);
		free(type == 'L' ? p->path : p->link);
		*(type == 'L' ? &p->path : &p->link) = s;
		free(raw);
		return true;
	}
	if (type == 'x' || type == 'g') {
		char *d = up_read_data(raw, size, MAX_PAX);
		if (type == 'x')
			up_parse_pax(raw, d, (size_t)size, p);
		free(d);
		free(raw);
		return true;
	}
	struct entry e = {.type = type ? type : '0', .mode = (mode_t)mode,
			  .uid = (uid_t)uid, .gid = (gid_t)gid, .size = size,
			  .major = (unsigned)major, .minor = (unsigned)minor,
			  .xattrs = p->xattrs, .nxattrs = p->nxattrs};
	e.mtime.tv_sec = (time_t)(p->has_mtime ? (uint64_t)p->mtime.tv_sec : mtime);
	e.mtime.tv_nsec = p->has_mtime ? p->mtime.tv_nsec : 0;
	if (p->path) {
		e.name = p->path;
		free(raw);
	} else if (ustar && h[345]) {
		char *prefix = up_field(h + 345, 155);
		e.name = up_alloc(strlen(prefix) + strlen(raw) + 2);
		sprintf(e.name, "%s/%s", prefix, raw);
		free(prefix), free(raw);
	} else {
		e.name = raw;
	}
	e.link = p->link ? p->link : up_field(h + 157, 100);
	for (size_t i = 0; i < e.nxattrs; i++)
		if (strncmp(e.xattrs[i].name, "trusted.overlay.", 16) == 0)
			up_fail(e.name, 0, "reserved xattr %s in the layer", e.xattrs[i].name);
	/* As Go's archive/tar: these types carry no data whatever their size field says. */
	if (strchr("123456", e.type))
		e.size = 0;
	up_apply(&e);
	up_entries++;
	free(e.name), free(e.link);
	up_free_xattrs(e.xattrs, e.nxattrs);
	memset(p, 0, sizeof(*p));
	return true;
}

int unpack_main(int argc, char **argv)
{
	up_gzip = argc == 3 && strcmp(argv[1], "--gzip") == 0;
	if (argc != 2 + up_gzip) {
		fprintf(stderr, "usage: skiff-shim unpack [--gzip] <target directory> < layer\n");
		return 2;
	}
	const char *target = argv[argc - 1];
	static struct pending p;
	up_buf = malloc(IOBUF);
	up_zin = malloc(IOBUF);
	if (!up_buf || !up_zin || inflateInit2(&up_z, 16 + MAX_WBITS) != Z_OK) {
		fprintf(stderr, "unpack: out of memory\n");
		return 1;
	}
	SHA256_Init(&up_sha);
	if (setjmp(up_fail_jmp))
		return 1;
	umask(0);
	fcntl(0, F_SETPIPE_SZ, IOBUF); /* a pipe's 64 KiB made a switch per 64 KiB; best effort */
	up_root = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (up_root < 0)
		up_fail(target, errno, "open target");
	while (up_next(&p))
		;
	up_dir_times();
	while (up_avail() > 0) /* drain what follows the end-of-archive blocks */
		up_off = up_len;
	unsigned char d[SHA256_DIGEST_LENGTH];
	SHA256_Final(d, &up_sha);
	printf("sha256:");
	for (size_t i = 0; i < sizeof(d); i++)
		printf("%02x", d[i]);
	printf("\n");
	fprintf(stderr, "unpack: ok %llu entries %llu bytes\n", up_entries, up_bytes);
	return 0;
}
