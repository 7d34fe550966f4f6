#include "vmm/seccomp_prebuilt.h"

#include <stddef.h>

bool seccomp_prebuilt_find(enum seccomp_thread t, int level, const struct sock_filter **prog, unsigned *len)
{
	if (!&seccomp_prebuilt_count || !seccomp_prebuilt_table)
		return false;
	for (unsigned i = 0; i < seccomp_prebuilt_count; i++)
		if (seccomp_prebuilt_table[i].thread == t && seccomp_prebuilt_table[i].level == level) {
			*prog = seccomp_prebuilt_table[i].prog;
			*len = seccomp_prebuilt_table[i].len;
			return true;
		}
	return false;
}
