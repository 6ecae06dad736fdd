/* fileio.h — reading whole files with a size limit */
#pragma once

#include <stddef.h>

/* Read a whole file of at most limit bytes into a new NUL-terminated buffer (caller frees). Returns 0 or
 * -errno (-EFBIG when larger than limit); ret_* untouched on failure. */
int producer_read_file(const char *path, size_t limit, char **ret, size_t *ret_len);
