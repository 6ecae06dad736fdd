/* web_receipt.c — renders a stored photo receipt for download in the reader's language (the request's,
 * base/i18n.h): the slip of photo/receipt.c (A6, fields, the photo, a QR of "CLPR1|number|sha256"), its words
 * from the catalog and its dates as the reader writes them; cairo writes files, so the document goes through
 * a private temporary file that is read back and removed */
#include "web/web_receipt.h"

#include "base/i18n.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECEIPT_MAX_BYTES (16u * 1024u * 1024u) /* far above an A6 page at 300 dpi */

/* "2026-12-05" or "2026-12-05 10:00" as the reader writes it (the catalog says the order) */
static const char *receipt_date(const char *s, char *out, size_t size)
{
    char y[5], m[3], d[3];
    int n;

    if (!s || strlen(s) < 10 || s[4] != '-' || s[7] != '-') {
        snprintf(out, size, "%s", s ? s : "");
        return out;
    }
    snprintf(y, sizeof(y), "%.4s", s);
    snprintf(m, sizeof(m), "%.2s", s + 5);
    snprintf(d, sizeof(d), "%.2s", s + 8);
    n = snprintf(out, size, _("%s-%s-%s"), y, m, d);
    if (n >= 0 && (size_t)n < size && s[10])
        snprintf(out + n, size - (size_t)n, "%s", s + 10);
    return out;
}

/* The receipt into the file at path in the calling thread's language: the slip of photo/receipt.c with the
 * words from the catalog and the dates as the reader writes them. */
static int render(const struct photo_receipt *rc, const struct photo_image *photo,
                  enum photo_receipt_format format, const char *path)
{
    const struct photo_receipt_words words = {
        .title = _("Digital photo quality receipt"),
        .subtitle = _("Social security card photo, checked by the studio"),
        .number = _("Receipt No."),
        .result = _("Result"),
        .document = _("Document No."),
        .studio = _("Studio"),
        .profile = _("Photo rules"),
        .issued = _("Issued"),
        .valid_until = _("Valid until"),
        .warnings = _("Warnings"),
        .pass = _("pass"),
        .pass_with_warnings = _("pass with warnings"),
        .footer =
            _("Present with the photo file; the outlet verifies the number and the photo's SHA-256 (cardline "
              "photo verify)."),
    };
    struct photo_receipt local = *rc;

    receipt_date(rc->issued_at, local.issued_at, sizeof(local.issued_at));
    receipt_date(rc->valid_until, local.valid_until, sizeof(local.valid_until));
    return photo_receipt_render_words(&local, &words, photo, format, path);
}

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
    r = render(rc, img, format, path);
    photo_image_free(img);
    if (r == 0)
        r = read_back(fd, ret_data, ret_len);
    close(fd);
    unlink(path);
    return r;
}
