/* fileio.c — reading whole files with a size limit (imports, calendars, configuration, portraits); owner-only
 * folders for personal data */
#include "base/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int producer_read_file(const char *path, size_t limit, char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rbe");
    char *buf;
    long size;

    if (!f)
        return -errno;
    if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        fclose(f);
        return -EIO;
    }
    if ((size_t)size > limit) {
        fclose(f);
        return -EFBIG;
    }
    buf = malloc((size_t)size + 1);
    if (!buf) {
        fclose(f);
        return -ENOMEM;
    }
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return -EIO;
    }
    buf[size] = '\0';
    fclose(f);
    *ret = buf;
    *ret_len = (size_t)size;
    return 0;
}

int producer_private_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (stat(dir, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (st.st_uid == geteuid() && (st.st_mode & 077) != 0 && chmod(dir, st.st_mode & 0700) < 0)
        return -errno;
    return 0;
}
