/* Backend-neutral helpers of the HAL. */
#include "hal/hal.h"

const char *hal_exit_reason_name(enum hal_exit_reason reason)
{
	switch (reason) {
	case HAL_EXIT_IO: return "io";
	case HAL_EXIT_MMIO: return "mmio";
	case HAL_EXIT_HLT: return "hlt";
	case HAL_EXIT_SHUTDOWN: return "shutdown";
	case HAL_EXIT_SYSTEM_EVENT: return "system_event";
	case HAL_EXIT_INTERNAL_ERROR: return "internal_error";
	case HAL_EXIT_FAIL_ENTRY: return "fail_entry";
	case HAL_EXIT_INTR: return "intr";
	case HAL_EXIT_UNKNOWN: return "unknown";
	}
	return "?";
}
