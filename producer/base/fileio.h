/* fileio.h — reading whole files with a size limit */
#pragma once

#include <stddef.h>

/* Make dir (one level) for personal data: created owner-only (0700), and an existing one of ours that others
 * could read (made by an older cardline) is closed to them. Returns 0 or -errno. */
int producer_private_dir(const char *dir);

/* Read a whole file of at most limit bytes into a new NUL-terminated buffer (caller frees). Returns 0 or
 * -errno (-EFBIG when larger than limit); ret_* untouched on failure. */
int producer_read_file(const char *path, size_t limit, char **ret, size_t *ret_len);
