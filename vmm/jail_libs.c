/* A dynamically linked VMM in a jail: its ELF interpreter and the shared
 * libraries that loader resolves on the host are copied into the jail at
 * the same paths. (Firecracker's jailer expects a static binary; ember
 * links jansson, liburing, libmicrohttpd and libseccomp dynamically.) */
#include "vmm/jail.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/log.h"

#define ELF_MAX_PHDRS 256

int jail_elf_interp(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	Elf64_Ehdr eh;
	bool found = false;

	out[0] = '\0';
	/* Not ELF (too short for the magic, or another magic): nothing to copy. */
	if (len < SELFMAG || memcmp(buf, ELFMAG, SELFMAG))
		return 0;
	if (len < sizeof(eh))
		return err_set(-ENOEXEC, "ELF header truncated (%zu bytes)", len);
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return err_set(-ENOEXEC, "not a 64-bit little-endian ELF file");
	if (!eh.e_phnum)
		return 0;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > ELF_MAX_PHDRS)
		return err_set(-ENOEXEC, "ELF program headers: %u of %u bytes", eh.e_phnum, eh.e_phentsize);
	if (eh.e_phoff > len || (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		return err_set(-ENOEXEC, "ELF program headers lie past the first %zu bytes", len);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_INTERP)
			continue;
		if (found)
			return err_set(-ENOEXEC, "ELF file has two PT_INTERP headers");
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return err_set(-ENOEXEC, "PT_INTERP lies past the first %zu bytes", len);
		/* A NUL-terminated absolute path, the NUL its last byte. */
		if (ph.p_filesz < 2 || ph.p_filesz > cap || buf[ph.p_offset + ph.p_filesz - 1] ||
		    strnlen((const char *)buf + ph.p_offset, ph.p_filesz) != ph.p_filesz - 1 ||
		    buf[ph.p_offset] != '/')
			return err_set(-ENOEXEC, "PT_INTERP is not an absolute path that fits %zu bytes", cap);
		memcpy(out, buf + ph.p_offset, ph.p_filesz);
		found = true;
	}
	return 0;
}

/* A library path as it will be made inside the jail: absolute, bounded,
 * printable, no "." or ".." component. */
static bool lib_path_ok(const char *p, size_t len)
{
	if (len < 2 || len >= JAIL_LIB_PATH_MAX || p[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f)
			return false;
	for (size_t i = 0; i < len;) {
		size_t n = 0;

		while (i + n < len && p[i + n] != '/')
			n++;
		if ((n == 1 && p[i] == '.') || (n == 2 && p[i] == '.' && p[i + 1] == '.'))
			return false;
		i += n + 1;
	}
	return true;
}

static int add_lib(struct jail_libs *out, const char *p, size_t len)
{
	for (unsigned i = 0; i < out->n; i++)
		if (strlen(out->path[i]) == len && !memcmp(out->path[i], p, len))
			return 0;
	if (out->n >= JAIL_MAX_LIBS)
		return err_set(-E2BIG, "the VMM needs more than %d libraries", JAIL_MAX_LIBS);
	memcpy(out->path[out->n], p, len);
	out->path[out->n][len] = '\0';
	out->n++;
	return 0;
}

/* One line of ldd's format:
 *   "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"
 *   "\t/lib64/ld-linux-x86-64.so.2 (0x...)"
 *   "\tlinux-vdso.so.1 (0x...)"              (in the kernel: skipped)
 *   "\tlibfoo.so.1 => not found"             (an error) */
static int parse_line(const char *line, size_t len, struct jail_libs *out)
{
	const char *arrow, *path;
	size_t plen;

	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	if (!len)
		return 0;
	arrow = memmem(line, len, " => ", 4);
	if (arrow) {
		path = arrow + 4;
		plen = len - (size_t)(path - line);
		if (plen >= 9 && !memcmp(path, "not found", 9))
			return err_set(-ENOENT, "library %.*s not found by the loader", (int)(arrow - line > 80 ? 80 : arrow - line),
				       line);
	} else {
		path = line;
		plen = len;
	}
	for (size_t i = 0; i < plen; i++)
		if (path[i] == ' ') {
			plen = i;
			break;
		}
	if (!plen || path[0] != '/') {
		/* A vDSO has no file; anything else without a path is a message. */
		if (!arrow && memmem(line, len, "vdso", 4))
			return 0;
		return err_set(-EINVAL, "unexpected loader output '%.*s'", (int)(len > 120 ? 120 : len), line);
	}
	if (!lib_path_ok(path, plen))
		return err_set(-EINVAL, "library path '%.*s' is not a plain absolute path under %d bytes",
			       (int)(plen > 120 ? 120 : plen), path, JAIL_LIB_PATH_MAX);
	return add_lib(out, path, plen);
}

int jail_parse_lib_list(const char *text, size_t len, struct jail_libs *out)
{
	out->n = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - text) - i : len - i;
		int ret;

		if (memchr(text + i, '\0', n))
			return err_set(-EINVAL, "loader output holds a NUL byte");
		if ((ret = parse_line(text + i, n, out)))
			return ret;
		i += n + 1;
	}
	return 0;
}

/* The loader is run as root on the host: it must be a file only root can
 * change, as one that ldd would trust. */
static int check_interp(const char *interp)
{
	struct stat st;

	if (stat(interp, &st) < 0)
		return err_set(-errno, "the VMM's ELF interpreter %s: %s", interp, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return err_set(-EPERM, "the VMM's ELF interpreter %s is not a root-owned file only root can write",
			       interp);
	return 0;
}

static int read_head(const char *exec_file, uint8_t *buf, size_t cap, size_t *len)
{
	int fd = open(exec_file, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return err_set(-errno, "--exec-file %s: %s", exec_file, strerror(errno));
	do
		n = pread(fd, buf, cap, 0);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 0)
		return err_set(-errno, "--exec-file %s: read: %s", exec_file, strerror(errno));
	*len = (size_t)n;
	return 0;
}

/* Runs "interp --list exec_file" with no environment (the VMM gets none
 * either, so no LD_LIBRARY_PATH decides) and reads what it prints. */
static int run_loader(const char *interp, const char *exec_file, char *text, size_t cap, size_t *len)
{
	int pfd[2], status;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return err_set(-errno, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_set(-errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		char *const argv[] = { (char *)interp, "--list", (char *)exec_file, NULL };
		char *const envp[] = { NULL };

		if (dup2(pfd[1], 1) < 0 || dup2(pfd[1], 2) < 0)
			_exit(127);
		execve(interp, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], text + got, cap - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == cap)
			break;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*len = got;
	if (got == cap)
		return err_set(-E2BIG, "%s --list %s: more than %zu bytes of output", interp, exec_file, cap);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return err_set(-ENOEXEC, "%s --list %s failed (status %d): %.*s", interp, exec_file, status,
			       (int)(got > 200 ? 200 : got), text);
	return 0;
}

int jail_list_libs(const char *exec_file, struct jail_libs *out)
{
	char interp[JAIL_LIB_PATH_MAX];
	uint8_t *head = malloc(JAIL_ELF_HEAD_MAX);
	char *text = NULL;
	size_t len = 0;
	int ret;

	out->n = 0;
	if (!head)
		return err_set(-ENOMEM, "no memory to read %s", exec_file);
	ret = read_head(exec_file, head, JAIL_ELF_HEAD_MAX, &len);
	if (!ret && (ret = jail_elf_interp(head, len, interp, sizeof(interp))))
		ret = err_wrap(ret, "--exec-file %s", exec_file);
	free(head);
	if (ret || !interp[0])
		return ret;
	if ((ret = check_interp(interp)))
		return ret;
	text = malloc(JAIL_LIB_LIST_MAX);
	if (!text)
		return err_set(-ENOMEM, "no memory for the loader's output");
	ret = run_loader(interp, exec_file, text, JAIL_LIB_LIST_MAX, &len);
	if (!ret && (ret = jail_parse_lib_list(text, len, out)))
		ret = err_wrap(ret, "libraries of %s (from %s --list)", exec_file, interp);
	/* The loader lists itself, but the VMM cannot start without it. */
	if (!ret)
		ret = add_lib(out, interp, strlen(interp));
	free(text);
	return ret;
}
