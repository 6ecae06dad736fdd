/* web_receipt.c — renders a stored photo receipt for download: photo_receipt_render() writes files, so the
 * document goes through a private temporary file that is read back and removed */
#include "web/web_receipt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECEIPT_MAX_BYTES (16u * 1024u * 1024u) /* far above an A6 page at 300 dpi */

static int read_back(int fd, uint8_t **ret_data, size_t *ret_len)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;

    if (fstat(fd, &st) < 0 || st.st_size <= 0 || (unsigned long long)st.st_size > RECEIPT_MAX_BYTES)
        return PHOTO_ERROR_IO;
    buf = malloc((size_t)st.st_size);
    if (!buf)
        return PHOTO_ERROR_NOMEM;
    while (done < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(buf);
            return PHOTO_ERROR_IO;
        }
        done += (size_t)n;
    }
    *ret_data = buf;
    *ret_len = done;
    return 0;
}

int web_receipt_render(const struct photo_receipt *rc, const uint8_t *photo, size_t photo_len,
                       enum photo_receipt_format format, uint8_t **ret_data, size_t *ret_len)
{
    const char *tmp = getenv("TMPDIR");
    struct photo_image *img = NULL;
    char path[4096];
    int fd, r;

    if (!rc || !ret_data || !ret_len)
        return PHOTO_ERROR_INVALID;
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (snprintf(path, sizeof(path), "%s/cardline-receipt-XXXXXX", tmp) >= (int)sizeof(path))
        return PHOTO_ERROR_IO;
    fd = mkstemp(path); /* 0600, a name no other request can have */
    if (fd < 0)
        return PHOTO_ERROR_IO;
    if (photo && photo_len)
        (void)photo_decode(photo, photo_len, &img); /* the receipt shows the photo when it decodes */
    r = photo_receipt_render(rc, img, format, path);
    photo_image_free(img);
    if (r == 0)
        r = read_back(fd, ret_data, ret_len);
    close(fd);
    unlink(path);
    return r;
}
