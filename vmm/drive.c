#include "vmm/drive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"

static bool id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int set_value(const char *key, const char *val, size_t len, struct spec_drive *out, unsigned *seen)
{
	if (!strcmp(key, "path")) {
		if (*seen & 1)
			return err_set(-EINVAL, "--drive: path given twice");
		if (!len || len >= DRIVE_PATH_MAX)
			return err_set(-EINVAL, "--drive: path must be 1..%d bytes", DRIVE_PATH_MAX - 1);
		memcpy(out->path_on_host, val, len);
		out->path_on_host[len] = 0;
		*seen |= 1;
	} else if (!strcmp(key, "ro")) {
		if (*seen & 2)
			return err_set(-EINVAL, "--drive: ro given twice");
		if ((len == 2 && !strncmp(val, "on", 2)) || (len == 4 && !strncmp(val, "true", 4)))
			out->is_read_only = true;
		else if ((len == 3 && !strncmp(val, "off", 3)) || (len == 5 && !strncmp(val, "false", 5)))
			out->is_read_only = false;
		else
			return err_set(-EINVAL, "--drive: ro='%.*s' is not on or off", (int)len, val);
		*seen |= 2;
	} else if (!strcmp(key, "id")) {
		if (*seen & 4)
			return err_set(-EINVAL, "--drive: id given twice");
		if (!len || len > DRIVE_ID_MAX)
			return err_set(-EINVAL, "--drive: id must be 1..%d characters", DRIVE_ID_MAX);
		for (size_t i = 0; i < len; i++)
			if (!id_char_ok(val[i]))
				return err_set(-EINVAL, "--drive: id '%.*s' may hold only letters, digits, _ and -",
					       (int)len, val);
		memcpy(out->drive_id, val, len);
		out->drive_id[len] = 0;
		*seen |= 4;
	} else {
		return err_set(-EINVAL, "--drive: unknown key '%s' (path, ro, id)", key);
	}
	return 0;
}

int drive_parse(const char *spec, const char *default_id, struct spec_drive *out)
{
	unsigned seen = 0;
	const char *p = spec;

	memset(out, 0, sizeof(*out));
	out->io_engine = SPEC_IO_ASYNC;
	while (*p) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		char key[8];
		int ret;

		if (!end)
			end = p + strlen(p);
		if (!eq || eq > end)
			return err_set(-EINVAL, "--drive: '%.*s' is not key=value", (int)(end - p), p);
		if ((size_t)(eq - p) >= sizeof(key))
			return err_set(-EINVAL, "--drive: unknown key '%.*s' (path, ro, id)", (int)(eq - p), p);
		memcpy(key, p, (size_t)(eq - p));
		key[eq - p] = 0;
		ret = set_value(key, eq + 1, (size_t)(end - eq - 1), out, &seen);
		if (ret)
			return ret;
		p = *end ? end + 1 : end;
	}
	if (!(seen & 1))
		return err_set(-EINVAL, "--drive: path= is required");
	if (!(seen & 4))
		snprintf(out->drive_id, sizeof(out->drive_id), "%.*s", DRIVE_ID_MAX, default_id ? default_id : "");
	return 0;
}

int drive_open(const struct spec_drive *d, int *fd_out, uint64_t *size)
{
	int fd = open(d->path_on_host, (d->is_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	off_t end;

	if (fd < 0)
		return err_set(-errno, "drive %s: cannot open %s: %m", d->drive_id, d->path_on_host);
	if (fstat(fd, &st) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		close(fd);
		return err_set(-EINVAL, "drive %s: %s is not a regular file or block device", d->drive_id, d->path_on_host);
	}
	if (flock(fd, (d->is_read_only ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		int err = errno;

		close(fd);
		if (err == EWOULDBLOCK)
			return err_set(-EBUSY, "drive %s: %s is in use by another process%s", d->drive_id, d->path_on_host,
				       d->is_read_only ? " that writes it" : "");
		return err_set(-err, "drive %s: cannot lock %s: %s", d->drive_id, d->path_on_host, strerror(err));
	}
	end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		close(fd);
		return err_set(-errno, "drive %s: size of %s: %m", d->drive_id, d->path_on_host);
	}
	if (end % 512)
		log_warn("drive %s: %s is %lld bytes, not a multiple of 512; the last %lld bytes are not visible",
			 d->drive_id, d->path_on_host, (long long)end, (long long)(end % 512));
	*fd_out = fd;
	*size = (uint64_t)end;
	return 0;
}
