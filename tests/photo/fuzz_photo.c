/* fuzz_photo.c — fuzz target over the photo library's untrusted inputs: decode + full check, and profile
 * files */
#include "photo.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Not CHECK(): release builds define NDEBUG, and the replay test runs in them too. */
#define CHECK(x)                                                                                             \
    do {                                                                                                     \
        if (!(x))                                                                                            \
            abort();                                                                                         \
    } while (0)

/* The cascades are loaded once per process, as a controller does; reloading per input would fuzz libxml2. */
static struct photo_checker *checker(void)
{
    static struct photo_checker *ck;
    static int tried;

    if (!tried) {
        tried = 1;
        if (photo_checker_new(getenv("CARDLINE_PHOTO_MODELS"), &ck) < 0)
            abort(); /* a fuzz run without models would test nothing; install opencv-data */
    }
    return ck;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct photo_report *rep = NULL;
    struct photo_profile profile;
    char err[160], ids[256];

    int r = photo_check(checker(), data, size, NULL, &rep);
    CHECK(r == 0 && rep);
    CHECK(rep->count == PHOTO_CHECK_COUNT);
    CHECK(rep->verdict == PHOTO_STATUS_PASS || rep->verdict == PHOTO_STATUS_WARN ||
          rep->verdict == PHOTO_STATUS_FAIL);
    for (size_t i = 0; i < rep->count; i++) {
        CHECK(memchr(rep->checks[i].message, '\0', sizeof(rep->checks[i].message)));
        CHECK(memchr(rep->checks[i].value_text, '\0', sizeof(rep->checks[i].value_text)));
    }
    int failing = photo_report_failing_ids(rep, ids, sizeof(ids));
    CHECK((failing > 0) == (rep->verdict == PHOTO_STATUS_FAIL));
    photo_report_free(rep);

    /* The same bytes as a bureau's profile file. */
    r = photo_profile_parse((const char *)data, size, &profile, err, sizeof(err));
    CHECK(r == 0 || r == PHOTO_ERROR_PROFILE);
    if (r == 0)
        CHECK(memchr(profile.name, '\0', sizeof(profile.name)) && profile.name[0]);
    return 0;
}
