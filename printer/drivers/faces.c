/* faces.c — what the simulated and emulated drivers share: each printed face as <dir>/<label>.png, and the
 * mechanical time of a device */
#include "printer-private.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int printer_face_dir_check(const char *dir)
{
    size_t len = strnlen(dir, PRINTER_FACE_DIR_MAX);
    struct stat st;

    if (len == 0 || len + 2 + PRINTER_FACE_LABEL_MAX + sizeof(".png.tmp") > PRINTER_FACE_DIR_MAX)
        return PRINTER_ERROR_INVALID;
    /* fail at start-up, not on the first card */
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return PRINTER_ERROR_IO;
    return 0;
}

bool printer_face_label_valid(const char *label)
{
    size_t len = strnlen(label, PRINTER_FACE_LABEL_MAX + 1);

    if (len == 0 || len > PRINTER_FACE_LABEL_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = label[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

int printer_face_write(const char *dir, const char *label, const struct printer_raster *r)
{
    char tmp[PRINTER_FACE_DIR_MAX], path[PRINTER_FACE_DIR_MAX];
    int n1, n2, err;

    n1 = snprintf(tmp, sizeof(tmp), "%s/.%s.png.tmp", dir, label);
    n2 = snprintf(path, sizeof(path), "%s/%s.png", dir, label);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(tmp) || (size_t)n2 >= sizeof(path))
        return PRINTER_ERROR_INVALID;
    err = printer_raster_write_png(r, tmp);
    if (err == 0 && rename(tmp, path) < 0)
        err = PRINTER_ERROR_IO;
    if (err < 0)
        remove(tmp);
    return err;
}

void printer_sleep_ms(unsigned ms)
{
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&left, &left) < 0 && errno == EINTR)
        ;
}
