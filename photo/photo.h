/* photo.h — decoding and encoding of applicants' digital photos (public interface of the photo library) */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Errors are negative; 0 or positive is success. Error codes are in the photo library's own range (printer
 * -1100.., photo -1200.., encoder -1300.., producer -1400..), so a code means one thing everywhere. */
#define PHOTO_ERROR_RANGE_MAX (-1200)
#define PHOTO_ERROR_RANGE_MIN (-1299)
enum photo_error {
    PHOTO_ERROR_INVALID = -1201,     /* bad argument */
    PHOTO_ERROR_NOMEM = -1202,       /* allocation failed */
    PHOTO_ERROR_FORMAT = -1203,      /* neither JPEG nor PNG */
    PHOTO_ERROR_CORRUPT = -1204,     /* truncated or damaged file */
    PHOTO_ERROR_TOO_LARGE = -1205,   /* bytes or dimensions beyond the limits below */
    PHOTO_ERROR_UNSUPPORTED = -1206, /* valid file of a kind we refuse (CMYK, 12-bit, ...) */
    PHOTO_ERROR_IO = -1207,          /* could not read or write a file */
    PHOTO_ERROR_MODEL = -1208,   /* face/eye detection models missing or unreadable (package opencv-data) */
    PHOTO_ERROR_PROFILE = -1209, /* a check profile file is malformed */
};

#define PHOTO_MAX_BYTES  (4u * 1024u * 1024u) /* larger submissions are refused before decoding */
#define PHOTO_MAX_PIXELS 4096u                /* per side */

enum photo_format {
    PHOTO_FORMAT_JPEG = 1,
    PHOTO_FORMAT_PNG = 2,
};

/* A decoded photo: 8-bit RGB, rows packed (stride == width * 3), plus what the file said about itself. */
struct photo_image {
    unsigned width;
    unsigned height;
    unsigned density_x; /* dots per inch from JFIF/pHYs, 0 when absent */
    unsigned density_y;
    uint8_t *rgb;
    enum photo_format format;
    unsigned
        components;  /* colour channels stored in the file: 1 greyscale, 3 colour (PNG alpha not counted) */
    int progressive; /* JPEG: progressive (not baseline); PNG: interlaced */
    int quality;     /* JPEG: quality 1..100 estimated from the luminance quantisation table; 0 for PNG */
    unsigned orientation; /* EXIF orientation 1..8, 0 when the file has none */
};

const char *photo_strerror(int err);

/* Decode a JPEG or PNG held in memory. On success *ret is a new image to free with photo_image_free().
 * Returns 0 or a PHOTO_ERROR; *ret is untouched on failure. */
int photo_decode(const uint8_t *data, size_t len, struct photo_image **ret);
void photo_image_free(struct photo_image *img);

/* Encode 8-bit RGB as a baseline JFIF JPEG with the given quality (1..100) and density (dpi).
 * On success *ret_data is malloc'd (caller frees) and *ret_len its size. */
int photo_encode_jpeg(const uint8_t *rgb, unsigned width, unsigned height, int quality, unsigned dpi,
                      uint8_t **ret_data, size_t *ret_len);

/* SHA-256 of the bytes as 64 lowercase hex characters plus NUL. */
void photo_sha256_hex(const uint8_t *data, size_t len, char ret_hex[65]);

/* The minimal gate the line applies until the full quality checker exists: the photo decodes,
 * is 358 x 441 pixels and is in colour. Returns 0 when acceptable; otherwise a PHOTO_ERROR and a
 * one-line reason a person can act on in reason (always NUL-terminated). */
#define PHOTO_WIDTH  358
#define PHOTO_HEIGHT 441
int photo_check_basic(const uint8_t *data, size_t len, char *reason, size_t reason_size);

/* ---- the full quality check ------------------------------------------------------------------------- */

enum photo_status {
    PHOTO_STATUS_PASS = 0,
    PHOTO_STATUS_WARN = 1, /* acceptable, but a person should look (a receipt is still issued) */
    PHOTO_STATUS_FAIL = 2,
    PHOTO_STATUS_SKIP = 3, /* not measured because an earlier check failed (the reason is in the message) */
};

const char *photo_status_name(enum photo_status status); /* "pass", "warn", "fail", "skip" */

/* A closed range; a side that is not enforced is -1e9 / 1e9. */
struct photo_range {
    double min;
    double max;
};

/* How strictly one check is applied. */
enum photo_severity {
    PHOTO_SEVERITY_FAIL = 0, /* out of range fails the photo (default) */
    PHOTO_SEVERITY_WARN = 1, /* out of range only warns */
    PHOTO_SEVERITY_OFF = 2,  /* not applied; reported as skip */
};

#define PHOTO_PROFILE_NAME_MAX 32
#define PHOTO_CHECK_COUNT      28 /* number of check ids; a report has at most this many entries */

/* Thresholds of one photo rule set. Built-in profiles come from photo_profile_builtin(); a bureau's own from
 * photo_profile_load() (format in README, "For photo studios"). Units: pixels of the 358 x 441 image unless
 * said. */
struct photo_profile {
    char name[PHOTO_PROFILE_NAME_MAX];
    unsigned version;
    int allow_png;
    unsigned width, height;
    struct photo_range density_dpi;
    struct photo_range jpeg_quality;
    struct photo_range file_size_kb;      /* KB = 1024 bytes */
    struct photo_range background_min;    /* lowest channel mean of the background, 0..255 */
    struct photo_range background_chroma; /* max - min channel of the background mean */
    struct photo_range background_noise;  /* standard deviation of background luminance */
    struct photo_range border_step;       /* luminance step between the outermost pixels and the background */
    struct photo_range clothing_contrast; /* percent of the bottom rows that stand out from the background */
    struct photo_range face_width;
    struct photo_range head_top;
    struct photo_range eye_line;   /* y of the eye midpoint */
    struct photo_range eye_centre; /* x of the eye midpoint */
    struct photo_range roll_deg;   /* absolute value */
    struct photo_range eye_distance;
    struct photo_range face_luminance;               /* mean luminance of the inner face */
    struct photo_range clipping_pct;                 /* inner-face pixels at 0..4 or 251..255 */
    struct photo_range entropy_bits;                 /* luminance histogram entropy of the inner face */
    struct photo_range sharpness;                    /* mean absolute Laplacian of the inner face */
    struct photo_range skin_a, skin_b;               /* CIELAB a*, b* of the cheeks */
    struct photo_range cheek_delta;                  /* luminance difference left vs right cheek */
    struct photo_range glare_pct;                    /* near-white specular pixels inside the eye boxes */
    struct photo_range blockiness;                   /* 8x8 block boundary vs interior gradient ratio */
    enum photo_severity severity[PHOTO_CHECK_COUNT]; /* per check, indexed like photo_check_ids() */
};

/* Built-in profiles: "ssc" (this city's social security card; the default) and "national-id" (GB/T
 * 35273-style resident ID photo: 14-20 KB, face width 207 +- 14). NULL for another name. */
const struct photo_profile *photo_profile_builtin(const char *name);
/* All check ids in report order, PHOTO_CHECK_COUNT of them. */
const char *const *photo_check_ids(void);
/* Parse a profile file's text (see README). On failure returns PHOTO_ERROR_PROFILE and a one-line reason
 * naming the line in err. */
int photo_profile_parse(const char *text, size_t len, struct photo_profile *ret, char *err, size_t err_size);
/* Read and parse a profile file (at most 64 KiB). */
int photo_profile_load(const char *path, struct photo_profile *ret, char *err, size_t err_size);
/* What a configuration's photo_profile names: a built-in profile by name (NULL or "" is the default), else a
 * profile file's path, loaded. Errors as photo_profile_load(). */
int photo_profile_find(const char *name, struct photo_profile *ret, char *err, size_t err_size);

/* The Haar cascades for face and eye localisation, loaded once and shared read-only by any number of threads.
 */
struct photo_checker;

#define PHOTO_DEFAULT_MODEL_DIR "/usr/share/opencv4/haarcascades"

/* Load haarcascade_frontalface_default.xml, haarcascade_eye.xml and haarcascade_eye_tree_eyeglasses.xml from
 * model_dir (NULL: PHOTO_DEFAULT_MODEL_DIR). PHOTO_ERROR_MODEL when a file is missing or malformed. */
int photo_checker_new(const char *model_dir, struct photo_checker **ret);
void photo_checker_free(struct photo_checker *ck);

struct photo_check_result {
    const char *id; /* stable id, e.g. "face.width" */
    enum photo_status status;
    double value; /* the measurement (meaningless when has_value is 0) */
    int has_value;
    char value_text[32]; /* the measurement as shown to people, e.g. "400x500", "72 dpi" */
    char limit[48];      /* e.g. "179..255 px" */
    char message[160];   /* what is wrong and what to do; "" when passing */
};

struct photo_point {
    double x, y;
};

struct photo_face {
    int found;                              /* number of faces detected */
    int x, y, w, h;                         /* the detector's box of the face used for measurements */
    int eyes_found;                         /* 0, 1 or 2 */
    struct photo_point left_eye, right_eye; /* in image coordinates; left = left in the image */
    double width;                           /* measured face width (cheek to cheek) */
    int head_top;                           /* first row of the head, -1 unknown */
};

struct photo_report {
    enum photo_status verdict; /* worst status over all checks (skip counts as pass) */
    char profile[PHOTO_PROFILE_NAME_MAX];
    unsigned profile_version;
    char sha256[65];
    size_t file_size;
    struct photo_face face;
    size_t count;
    struct photo_check_result checks[PHOTO_CHECK_COUNT];
};

/* Check a photo file held in memory against profile (NULL: the default "ssc"). A photo that cannot be decoded
 * still gets a report (check "format.decode" fails with the reason). Returns 0 and a report to free with
 * photo_report_free(), or PHOTO_ERROR_INVALID / PHOTO_ERROR_NOMEM; *ret untouched on failure. */
int photo_check(const struct photo_checker *ck, const uint8_t *data, size_t len,
                const struct photo_profile *profile, struct photo_report **ret);
void photo_report_free(struct photo_report *report);
/* The ids of the failing checks, ", "-separated ("face.width, exposure.mean"), always NUL-terminated and cut
 * at a whole id when the buffer is short. Returns the number of failing checks. */
int photo_report_failing_ids(const struct photo_report *report, char *buf, size_t size);
/* The entry with this id, or NULL. */
const struct photo_check_result *photo_report_find(const struct photo_report *report, const char *id);

/* ---- receipts (the database part lives in producer/) ----------------------------------------------- */

#define PHOTO_RECEIPT_NUMBER_LEN 18 /* "P" + yyyymmdd + 8-digit serial + check character */

/* Form a receipt number from the issue date and a serial (1..99999999), with an ISO 7064 MOD 11-2 check
 * character (0-9 or X, as on resident ID numbers). ret has room for PHOTO_RECEIPT_NUMBER_LEN + 1. */
int photo_receipt_number(int year, int month, int day, uint32_t serial,
                         char ret[PHOTO_RECEIPT_NUMBER_LEN + 1]);
/* 0 when number is well formed and its check character matches; PHOTO_ERROR_INVALID otherwise. */
int photo_receipt_number_valid(const char *number);

/* What a receipt says; strings are NUL-terminated, the document number is printed masked. */
struct photo_receipt {
    char number[PHOTO_RECEIPT_NUMBER_LEN + 1];
    char sha256[65];
    char profile[PHOTO_PROFILE_NAME_MAX];
    unsigned profile_version;
    char studio[128];
    char doc_masked[40];
    char issued_at[40];   /* "2026-11-20 10:00" bureau time (room for "2026年11月20日 10:00") */
    char valid_until[32]; /* "2027-05-20" (room for "2027年05月20日") */
    char verdict[8];      /* "pass" or "warn" */
    char warnings[160];   /* ids of warning checks, may be "" */
};

enum photo_receipt_format {
    PHOTO_RECEIPT_PNG = 1,
    PHOTO_RECEIPT_PDF = 2,
};

/* The words a receipt is printed with: its title, the fields' labels, the verdicts and the note at the foot.
 * The library speaks no language of its own choosing: a caller in one language passes its words (every
 * member set); NULL stands for the bilingual slip (Chinese first, English below). */
struct photo_receipt_words {
    const char *title, *subtitle;
    const char *number, *result, *document, *studio, *profile, *issued, *valid_until, *warnings;
    const char *pass, *pass_with_warnings;
    const char *footer;
};

/* Render the receipt (A6 portrait: title, fields, the photo when given as RGB, and a QR code holding
 * "CLPR1|number|sha256") to a file, in the bilingual words. PHOTO_ERROR_IO when the file cannot be written.
 */
int photo_receipt_render(const struct photo_receipt *receipt, const struct photo_image *photo,
                         enum photo_receipt_format format, const char *path);
/* The same in the given words (NULL: the bilingual ones). */
int photo_receipt_render_words(const struct photo_receipt *receipt, const struct photo_receipt_words *words,
                               const struct photo_image *photo, enum photo_receipt_format format,
                               const char *path);
/* The text the QR code carries, for scanners that verify a receipt: "CLPR1|<number>|<sha256>". */
int photo_receipt_qr_text(const struct photo_receipt *receipt, char *buf, size_t size);
