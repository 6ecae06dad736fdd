/* test_photo_check.c — cmocka tests of the full photo check on real photos (python3-skimage) and their
 * variants */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "fixtures.h"
#include "photo.h"

struct ctx {
    struct photo_checker *ck;
};

/* Locally a missing package skips; in CI (CI=true) it fails, so CI can never pass without the real data. */
static void need(bool have, const char *what)
{
    if (have)
        return;
    const char *ci = getenv("CI");
    if (ci && strcmp(ci, "true") == 0)
        fail_msg("%s missing in CI: install the packages in tools/packages.d/photo.txt", what);
    skip();
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    /* Without the models every test below skips (or fails in CI) through need(). */
    (void)photo_checker_new(NULL, &c->ck);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    photo_checker_free(c->ck);
    free(c);
    return 0;
}

static struct photo_report *check_bytes(void **state, const uint8_t *data, size_t len,
                                        const struct photo_profile *p)
{
    struct ctx *c = *state;
    struct photo_report *rep = NULL;

    need(c->ck != NULL, "opencv-data Haar cascades");
    assert_int_equal(photo_check(c->ck, data, len, p, &rep), 0);
    assert_non_null(rep);
    return rep;
}

static void dump(const struct photo_report *rep)
{
    fprintf(stderr, "verdict %s, face %d (%d,%d %dx%d) eyes %d\n", photo_status_name(rep->verdict),
            rep->face.found, rep->face.x, rep->face.y, rep->face.w, rep->face.h, rep->face.eyes_found);
    for (size_t i = 0; i < rep->count; i++)
        fprintf(stderr, "  %-4s %-24s %-18s %-22s %s\n", photo_status_name(rep->checks[i].status),
                rep->checks[i].id, rep->checks[i].value_text, rep->checks[i].limit, rep->checks[i].message);
}

static void expect_status(const struct photo_report *rep, const char *id, enum photo_status want)
{
    const struct photo_check_result *r = photo_report_find(rep, id);
    assert_non_null(r);
    if (r->status != want) {
        dump(rep);
        fail_msg("check %s is %s, expected %s", id, photo_status_name(r->status), photo_status_name(want));
    }
}

static void expect_fail(const struct photo_report *rep, const char *id)
{
    expect_status(rep, id, PHOTO_STATUS_FAIL);
    assert_int_equal(rep->verdict, PHOTO_STATUS_FAIL);
}

static struct photo_report *check_img(void **state, const struct fx_img *img, int quality, unsigned dpi)
{
    size_t len = 0;
    uint8_t *jpeg = fx_jpeg(img, quality, dpi, &len);
    assert_non_null(jpeg);
    struct photo_report *rep = check_bytes(state, jpeg, len, NULL);
    free(jpeg);
    return rep;
}

static void base(struct fx_img *img)
{
    /* a seed whose variants (overexposed, rotated, ...) keep a detectable face: the checks under test then
     * measure what they should rather than skip */
    need(fx_portrait(13, img), "python3-skimage astronaut.png");
}

/* ---- the passing photos ---------------------------------------------------------------------------- */

/* Every check passes on generated portraits across many seeds: sizes, positions, mirroring and exposure vary.
 */
static void test_generated_portraits_pass_everything(void **state)
{
    for (uint32_t seed = 1; seed <= 24; seed++) {
        uint8_t *jpeg = NULL;
        size_t len = 0;
        need(fx_portrait_jpeg(seed, &jpeg, &len), "python3-skimage astronaut.png");
        struct photo_report *rep = check_bytes(state, jpeg, len, NULL);
        for (size_t i = 0; i < rep->count; i++) {
            if (rep->checks[i].status != PHOTO_STATUS_PASS) {
                dump(rep);
                fail_msg("seed %u: %s is %s", seed, rep->checks[i].id,
                         photo_status_name(rep->checks[i].status));
            }
        }
        assert_int_equal(rep->face.found, 1);
        assert_int_equal(rep->face.eyes_found, 2);
        /* The eyes are where a person would put them: left of and right of the centre, level. */
        assert_true(rep->face.left_eye.x < 179 && rep->face.right_eye.x > 179);
        assert_true(rep->face.left_eye.y > 150 && rep->face.left_eye.y < 260);
        char ids[64];
        assert_int_equal(photo_report_failing_ids(rep, ids, sizeof(ids)), 0);
        assert_string_equal(ids, "");
        photo_report_free(rep);
        free(jpeg);
    }
}

/* The astronaut photo itself, cropped and scaled by the test (not by the generator), still finds face and
 * eyes where they are; its grey studio backdrop is what fails. */
static void test_real_photo_on_grey_backdrop(void **state)
{
    struct fx_img src, crop;
    need(fx_load_sample("astronaut.png", &src), "python3-skimage astronaut.png");
    /* Face centre (222, 110) of the 512 x 512 source, scaled 2.2x to the middle of a 358 x 441 photo. */
    crop = fx_place(&src, 2.2, 179 - (222 - 256) * 2.2, 215 - (110 - 256) * 2.2, PHOTO_WIDTH, PHOTO_HEIGHT);
    struct photo_report *rep = check_img(state, &crop, 80, 350);
    assert_int_equal(rep->face.found, 1);
    assert_int_equal(rep->face.eyes_found, 2);
    assert_true(rep->face.left_eye.x > 100 && rep->face.left_eye.x < 179);
    assert_true(rep->face.right_eye.x > 179 && rep->face.right_eye.x < 260);
    expect_fail(rep, "background.colour");
    photo_report_free(rep);
    fx_free(&crop);
    fx_free(&src);
}

/* ---- format ---------------------------------------------------------------------------------------- */

static void test_wrong_size(void **state)
{
    struct fx_img img, big;
    base(&img);
    big = fx_resize(&img, 400, 500);
    struct photo_report *rep = check_img(state, &big, 80, 350);
    expect_fail(rep, "format.dimensions");
    /* Geometry in pixels is meaningless at another size: those checks say why they were not measured. */
    expect_status(rep, "face.width", PHOTO_STATUS_SKIP);
    photo_report_free(rep);
    fx_free(&big);
    fx_free(&img);
}

static void test_wrong_dpi(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 80, 72);
    expect_fail(rep, "format.density");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_recompressed_at_quality_95(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 95, 350);
    expect_fail(rep, "format.quality");
    assert_true(photo_report_find(rep, "format.quality")->value >= 94);
    photo_report_free(rep);
    fx_free(&img);
}

static void test_file_size_window_national_profile(void **state)
{
    struct fx_img img;
    size_t len = 0;
    base(&img);
    /* Quality 90 passes the quality rule but is beyond the national rule's 20 KB. */
    uint8_t *jpeg = fx_jpeg(&img, 90, 350, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, photo_profile_builtin("national-id"));
    expect_fail(rep, "format.file_size");
    expect_status(rep, "format.quality", PHOTO_STATUS_PASS);
    photo_report_free(rep);
    free(jpeg);
    fx_free(&img);
}

struct raw_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void raw_error_exit(j_common_ptr cinfo)
{
    longjmp(((struct raw_err *)cinfo->err)->jump, 1);
}

struct raw_writer {
    struct jpeg_compress_struct cinfo;
    struct raw_err err;
    unsigned char *buf;
    unsigned long size;
};

/* libjpeg directly, for kinds photo_encode_jpeg never writes: CMYK, progressive, greyscale, an EXIF APP1. */
static bool raw_run(struct raw_writer *w, const struct fx_img *img, J_COLOR_SPACE space, bool progressive,
                    unsigned orientation)
{
    w->cinfo.err = jpeg_std_error(&w->err.pub);
    w->err.pub.error_exit = raw_error_exit;
    if (setjmp(w->err.jump))
        return false;
    jpeg_create_compress(&w->cinfo);
    jpeg_mem_dest(&w->cinfo, &w->buf, &w->size);
    w->cinfo.image_width = img->w;
    w->cinfo.image_height = img->h;
    w->cinfo.input_components = space == JCS_CMYK ? 4 : space == JCS_GRAYSCALE ? 1 : 3;
    w->cinfo.in_color_space = space;
    jpeg_set_defaults(&w->cinfo);
    jpeg_set_quality(&w->cinfo, 80, TRUE);
    w->cinfo.density_unit = 1;
    w->cinfo.X_density = w->cinfo.Y_density = 350;
    if (progressive)
        jpeg_simple_progression(&w->cinfo);
    jpeg_start_compress(&w->cinfo, TRUE);
    if (orientation) {
        /* Little-endian TIFF, IFD0 with one entry: Orientation (0x0112), SHORT, count 1. */
        uint8_t exif[] = {'E', 'x',  'i',  'f', 0,
                          0,   'I',  'I',  42,  0,
                          8,   0,    0,    0,   1,
                          0,   0x12, 0x01, 3,   0,
                          1,   0,    0,    0,   (uint8_t)orientation,
                          0,   0,    0,    0,   0,
                          0,   0};
        jpeg_write_marker(&w->cinfo, JPEG_APP0 + 1, exif, sizeof(exif));
    }
    size_t comps = (size_t)w->cinfo.input_components;
    uint8_t *row = malloc(img->w * comps);
    while (w->cinfo.next_scanline < img->h) {
        const uint8_t *src = img->rgb + (size_t)w->cinfo.next_scanline * img->w * 3;
        for (unsigned x = 0; x < img->w; x++) {
            const uint8_t *p = src + 3 * x;
            if (comps == 4) {
                row[4 * x] = (uint8_t)(255 - p[0]);
                row[4 * x + 1] = (uint8_t)(255 - p[1]);
                row[4 * x + 2] = (uint8_t)(255 - p[2]);
                row[4 * x + 3] = 0;
            } else if (comps == 1) {
                row[x] = (uint8_t)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
            } else {
                memcpy(row + 3 * x, p, 3);
            }
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&w->cinfo, &r, 1);
    }
    free(row);
    jpeg_finish_compress(&w->cinfo);
    return true;
}

static uint8_t *raw_jpeg(const struct fx_img *img, J_COLOR_SPACE space, bool progressive,
                         unsigned orientation, size_t *ret_len)
{
    struct raw_writer w;
    memset(&w, 0, sizeof(w));
    bool ok = raw_run(&w, img, space, progressive, orientation);
    jpeg_destroy_compress(&w.cinfo);
    assert_true(ok);
    *ret_len = w.size;
    return w.buf;
}

static void test_cmyk_gets_a_clear_verdict(void **state)
{
    struct fx_img img;
    size_t len = 0;
    base(&img);
    uint8_t *jpeg = raw_jpeg(&img, JCS_CMYK, false, 0, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, NULL);
    expect_fail(rep, "format.decode");
    assert_non_null(strstr(photo_report_find(rep, "format.decode")->message, "CMYK"));
    expect_status(rep, "face.count", PHOTO_STATUS_SKIP);
    photo_report_free(rep);
    free(jpeg);
    fx_free(&img);
}

static void test_progressive(void **state)
{
    struct fx_img img;
    size_t len = 0;
    base(&img);
    uint8_t *jpeg = raw_jpeg(&img, JCS_RGB, true, 0, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, NULL);
    expect_fail(rep, "format.progressive");
    /* Everything else is still measured: the face is there. */
    expect_status(rep, "face.count", PHOTO_STATUS_PASS);
    photo_report_free(rep);
    free(jpeg);
    fx_free(&img);
}

static void test_exif_rotated(void **state)
{
    struct fx_img img;
    size_t len = 0;
    base(&img);
    uint8_t *jpeg = raw_jpeg(&img, JCS_RGB, false, 6, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, NULL);
    expect_fail(rep, "format.orientation");
    assert_int_equal((int)photo_report_find(rep, "format.orientation")->value_text[0], '6');
    photo_report_free(rep);
    free(jpeg);
    /* Orientation 1 (upright) is fine. */
    jpeg = raw_jpeg(&img, JCS_RGB, false, 1, &len);
    rep = check_bytes(state, jpeg, len, NULL);
    expect_status(rep, "format.orientation", PHOTO_STATUS_PASS);
    photo_report_free(rep);
    free(jpeg);
    fx_free(&img);
}

static void test_greyscale_file_and_grey_in_disguise(void **state)
{
    struct fx_img img;
    size_t len = 0;
    base(&img);
    uint8_t *jpeg = raw_jpeg(&img, JCS_GRAYSCALE, false, 0, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, NULL);
    expect_fail(rep, "format.colour");
    photo_report_free(rep);
    free(jpeg);
    for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
        uint8_t *p = img.rgb + 3 * i;
        p[0] = p[1] = p[2] = (uint8_t)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
    }
    rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "format.colour");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_truncated_files(void **state)
{
    uint8_t *jpeg = NULL;
    size_t len = 0;
    need(fx_portrait_jpeg(3, &jpeg, &len), "python3-skimage astronaut.png");
    struct photo_report *rep = check_bytes(state, jpeg, len / 2, NULL);
    expect_fail(rep, "format.decode");
    assert_non_null(strstr(photo_report_find(rep, "format.decode")->message, "truncated"));
    photo_report_free(rep);
    free(jpeg);
    /* skimage's own truncated.jpg (a real camera file cut short). */
    jpeg = fx_read(FX_SKIMAGE_DIR "/truncated.jpg", &len);
    need(jpeg != NULL, "python3-skimage truncated.jpg");
    rep = check_bytes(state, jpeg, len, NULL);
    expect_fail(rep, "format.decode");
    photo_report_free(rep);
    free(jpeg);
    /* Not an image at all, and nothing. */
    rep = check_bytes(state, (const uint8_t *)"hello", 5, NULL);
    expect_fail(rep, "format.decode");
    photo_report_free(rep);
    rep = check_bytes(state, NULL, 0, NULL);
    expect_fail(rep, "format.decode");
    photo_report_free(rep);
}

static void test_png_only_where_allowed(void **state)
{
    struct fx_img img;
    base(&img);
    png_image pi;
    memset(&pi, 0, sizeof(pi));
    pi.version = PNG_IMAGE_VERSION;
    pi.width = img.w;
    pi.height = img.h;
    pi.format = PNG_FORMAT_RGB;
    png_alloc_size_t len = 0;
    assert_true(png_image_write_to_memory(&pi, NULL, &len, 0, img.rgb, 0, NULL));
    uint8_t *png = malloc(len);
    assert_true(png_image_write_to_memory(&pi, png, &len, 0, img.rgb, 0, NULL));
    struct photo_report *rep = check_bytes(state, png, len, NULL);
    expect_status(rep, "format.decode", PHOTO_STATUS_PASS);
    expect_status(rep, "face.count", PHOTO_STATUS_PASS);
    /* No pHYs chunk: the resolution is unknown, which only warns. */
    expect_status(rep, "format.density", PHOTO_STATUS_WARN);
    photo_report_free(rep);
    rep = check_bytes(state, png, len, photo_profile_builtin("national-id"));
    expect_fail(rep, "format.decode");
    photo_report_free(rep);
    free(png);
    fx_free(&img);
}

/* ---- background ------------------------------------------------------------------------------------ */

static void replace_white(struct fx_img *img, uint8_t r, uint8_t g, uint8_t b)
{
    for (unsigned y = 0; y < img->h; y++)
        for (unsigned x = 0; x < img->w; x++)
            if (fx_is_white(img, x, y))
                fx_fill(img, (int)x, (int)y, (int)x + 1, (int)y + 1, r, g, b);
}

static void test_coloured_background(void **state)
{
    struct fx_img img;
    base(&img);
    replace_white(&img, 120, 170, 230);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "background.colour");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_uneven_background(void **state)
{
    struct fx_img img;
    base(&img);
    /* A shadow falling across the right side of the backdrop. */
    for (unsigned y = 0; y < img.h; y++)
        for (unsigned x = img.w * 3 / 4; x < img.w; x++)
            if (fx_is_white(&img, x, y))
                fx_fill(&img, (int)x, (int)y, (int)x + 1, (int)y + 1, 228, 228, 228);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "background.uniformity");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_border(void **state)
{
    struct fx_img img;
    base(&img);
    fx_fill(&img, 0, 0, (int)img.w, 2, 90, 90, 90);
    fx_fill(&img, 0, 0, 2, (int)img.h, 90, 90, 90);
    fx_fill(&img, (int)img.w - 2, 0, (int)img.w, (int)img.h, 90, 90, 90);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "background.border");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_clothing_blends_into_background(void **state)
{
    struct fx_img img;
    base(&img);
    fx_fill(&img, 0, (int)img.h - 30, (int)img.w, (int)img.h, 250, 250, 250);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "background.contrast");
    photo_report_free(rep);
    fx_free(&img);
}

/* ---- face geometry --------------------------------------------------------------------------------- */

static void test_cat_and_no_face(void **state)
{
    const char *samples[] = {"chelsea.png", "coffee.png"};
    for (size_t i = 0; i < 2; i++) {
        struct fx_img src, img;
        need(fx_load_sample(samples[i], &src), "python3-skimage sample photos");
        double s = (double)PHOTO_HEIGHT / src.h > (double)PHOTO_WIDTH / src.w ? (double)PHOTO_HEIGHT / src.h
                                                                              : (double)PHOTO_WIDTH / src.w;
        img = fx_place(&src, s, PHOTO_WIDTH / 2.0, PHOTO_HEIGHT / 2.0, PHOTO_WIDTH, PHOTO_HEIGHT);
        struct photo_report *rep = check_img(state, &img, 80, 350);
        expect_fail(rep, "face.count");
        assert_int_equal(rep->face.found, 0);
        expect_status(rep, "face.width", PHOTO_STATUS_SKIP);
        photo_report_free(rep);
        fx_free(&img);
        fx_free(&src);
    }
}

static void test_two_faces(void **state)
{
    struct fx_img img, small, two;
    base(&img);
    small = fx_resize(&img, 179, 220);
    two = fx_place(&small, 1.0, 89.5, 230, PHOTO_WIDTH, PHOTO_HEIGHT);
    for (unsigned y = 0; y < 220; y++)
        memcpy(two.rgb + ((size_t)(y + 120) * PHOTO_WIDTH + 179) * 3, small.rgb + (size_t)y * 179 * 3,
               179 * 3);
    /* Faces of 100 px are outside the searched scales on purpose; enlarge the profile's range to find both.
     */
    struct photo_profile p = *photo_profile_builtin(NULL);
    p.face_width = (struct photo_range){80, 255};
    size_t len = 0;
    uint8_t *jpeg = fx_jpeg(&two, 80, 350, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, &p);
    expect_fail(rep, "face.count");
    assert_true(rep->face.found >= 2);
    photo_report_free(rep);
    free(jpeg);
    fx_free(&two);
    fx_free(&small);
    fx_free(&img);
}

static void test_small_face(void **state)
{
    struct fx_img img, small;
    base(&img);
    /* The whole portrait at 78%, centred with the eye line kept in place. */
    small = fx_place(&img, 0.78, PHOTO_WIDTH / 2.0, PHOTO_HEIGHT / 2.0 + 20, PHOTO_WIDTH, PHOTO_HEIGHT);
    struct photo_report *rep = check_img(state, &small, 80, 350);
    expect_fail(rep, "face.width");
    photo_report_free(rep);
    fx_free(&small);
    fx_free(&img);
}

static void test_face_too_low(void **state)
{
    struct fx_img img;
    base(&img);
    fx_shift(&img, 0, 40);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "face.eye_line");
    expect_fail(rep, "face.head_top");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_off_centre(void **state)
{
    struct fx_img img;
    base(&img);
    fx_shift(&img, 35, 0);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "face.eye_centre");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_rotated_10_degrees(void **state)
{
    struct fx_img img, rot;
    base(&img);
    /* The astronaut's head already leans about 3.5 degrees; 10 more the same way. */
    rot = fx_rotate(&img, -10, 179, 215);
    struct photo_report *rep = check_img(state, &rot, 80, 350);
    expect_fail(rep, "face.roll");
    double roll = fabs(photo_report_find(rep, "face.roll")->value);
    assert_true(roll > 10 && roll < 16);
    photo_report_free(rep);
    fx_free(&rot);
    fx_free(&img);
}

static void test_eyes_covered(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    struct photo_point r = rep->face.right_eye;
    photo_report_free(rep);
    /* An eye patch over one eye: the face is still there, one eye is not. */
    fx_fill(&img, (int)r.x - 24, (int)r.y - 16, (int)r.x + 24, (int)r.y + 16, 30, 28, 30);
    rep = check_img(state, &img, 80, 350);
    assert_int_equal(rep->face.found, 1);
    expect_fail(rep, "face.eyes");
    expect_status(rep, "face.roll", PHOTO_STATUS_SKIP);
    photo_report_free(rep);
    /* Dark glasses over both eyes: no frontal face is found at all, which is the verdict a person needs. */
    fx_fill(&img, 40, (int)r.y - 16, 320, (int)r.y + 16, 20, 20, 24);
    rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "face.count");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_eye_distance(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_status(rep, "face.eye_distance", PHOTO_STATUS_PASS);
    double ied = photo_report_find(rep, "face.eye_distance")->value;
    photo_report_free(rep);
    /* A bureau profile demanding a larger inter-eye distance than this photo has. */
    struct photo_profile p;
    char text[128], err[128];
    snprintf(text, sizeof(text), "name = wide-eyes\nbase = ssc\neye_distance = %.0f..\n", ied + 20);
    assert_int_equal(photo_profile_parse(text, strlen(text), &p, err, sizeof(err)), PHOTO_ERROR_PROFILE);
    assert_non_null(strstr(err, "base must be the first"));
    snprintf(text, sizeof(text), "base = ssc\nname = wide-eyes\neye_distance = %.0f..\n", ied + 20);
    assert_int_equal(photo_profile_parse(text, strlen(text), &p, err, sizeof(err)), 0);
    size_t len = 0;
    uint8_t *jpeg = fx_jpeg(&img, 80, 350, &len);
    rep = check_bytes(state, jpeg, len, &p);
    expect_fail(rep, "face.eye_distance");
    assert_string_equal(rep->profile, "wide-eyes");
    photo_report_free(rep);
    free(jpeg);
    fx_free(&img);
}

/* ---- exposure, sharpness, colour, light, glare, compression ---------------------------------------- */

static void test_darkened(void **state)
{
    struct fx_img img;
    base(&img);
    fx_levels(&img, 0.45, 0);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "exposure.mean");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_overexposed(void **state)
{
    struct fx_img img;
    base(&img);
    fx_levels(&img, 1.25, 50);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "exposure.mean");
    expect_fail(rep, "exposure.clipping");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_flat_tones(void **state)
{
    struct fx_img img;
    base(&img);
    /* Washed out: the person's tones squeezed into a narrow band, as from a flat scan. */
    for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
        uint8_t *p = img.rgb + 3 * i;
        if (p[0] > 235 && p[1] > 235 && p[2] > 235)
            continue;
        for (int c = 0; c < 3; c++)
            p[c] = (uint8_t)(150 + (p[c] - 150) / 4);
    }
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "exposure.dynamic_range");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_blurred(void **state)
{
    struct fx_img img;
    base(&img);
    fx_blur(&img, 4);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "sharpness");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_colour_cast(void **state)
{
    struct fx_img img;
    base(&img);
    /* A green cast on the person (the backdrop stays white). */
    for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
        uint8_t *p = img.rgb + 3 * i;
        if (p[0] > 235 && p[1] > 235 && p[2] > 235)
            continue;
        p[0] = (uint8_t)(p[0] * 0.7);
        p[2] = (uint8_t)(p[2] * 0.8);
    }
    struct photo_report *rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "colour.skin");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_side_lighting(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    int mid = (int)((rep->face.left_eye.x + rep->face.right_eye.x) / 2);
    photo_report_free(rep);
    /* The left half of the face in shadow. */
    for (unsigned y = 0; y < img.h; y++)
        for (int x = 0; x < mid; x++) {
            if (fx_is_white(&img, (unsigned)x, y))
                continue;
            uint8_t *p = img.rgb + ((size_t)y * img.w + (size_t)x) * 3;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)(p[c] * 0.6);
        }
    rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "illumination.uniformity");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_glare_on_glasses(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 80, 350);
    struct photo_point l = rep->face.left_eye, r = rep->face.right_eye;
    photo_report_free(rep);
    /* Reflections of a window on both lenses, beside the pupils. */
    fx_fill(&img, (int)l.x + 7, (int)l.y - 14, (int)l.x + 19, (int)l.y - 3, 255, 255, 255);
    fx_fill(&img, (int)r.x - 19, (int)r.y - 14, (int)r.x - 7, (int)r.y - 3, 255, 255, 255);
    rep = check_img(state, &img, 80, 350);
    expect_fail(rep, "glare.glasses");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_blocky_compression(void **state)
{
    struct fx_img img;
    base(&img);
    struct photo_report *rep = check_img(state, &img, 6, 350);
    expect_fail(rep, "compression.blockiness");
    expect_fail(rep, "format.quality");
    photo_report_free(rep);
    fx_free(&img);
}

/* ---- profiles and reports ------------------------------------------------------------------------- */

static void test_profile_file_format(void **state)
{
    (void)state;
    struct photo_profile p;
    char err[160];
    const char *good = "# Foshan, 2026\n"
                       "base = national-id\n"
                       "name = foshan\n"
                       "version = 3\n"
                       "file_size_kb = 9..20   # regional window\n"
                       "face_width = 179..255\n"
                       "eye_line = ..230\n"
                       "formats = jpeg,png\n"
                       "severity.glare.glasses = warn\n"
                       "severity.format.density = off\n";
    assert_int_equal(photo_profile_parse(good, strlen(good), &p, err, sizeof(err)), 0);
    assert_string_equal(p.name, "foshan");
    assert_int_equal(p.version, 3);
    assert_true(p.file_size_kb.min == 9 && p.file_size_kb.max == 20);
    assert_true(p.eye_line.max == 230 && p.eye_line.min < -1e8);
    assert_int_equal(p.allow_png, 1);
    assert_int_equal(p.severity[26], PHOTO_SEVERITY_WARN);
    assert_string_equal(photo_check_ids()[26], "glare.glasses");

    const struct {
        const char *text, *error;
    } bad[] = {
        {"name = x\nface_width = 300..200\n", "line 2"},
        {"name = x\nfoo = 1\n", "unknown key"},
        {"name = x\nseverity.face.nose = warn\n", "unknown check id"},
        {"name = x\nseverity.format.decode = off\n", "severity"},
        {"name = X Y\n", "name"},
        {"face_width = 1..2\n", "needs a name"},
        {"name = x\nface_width\n", "KEY = VALUE"},
        {"name = x\nbase = ssc\n", "base must be the first"},
        {"base = nope\nname = x\n", "unknown base"},
        {"name = x\nformats = gif\n", "formats"},
        {"name = x\njpeg_quality = 1e999..2\n", "range"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(photo_profile_parse(bad[i].text, strlen(bad[i].text), &p, err, sizeof(err)),
                         PHOTO_ERROR_PROFILE);
        if (!strstr(err, bad[i].error))
            fail_msg("profile %zu: error '%s' lacks '%s'", i, err, bad[i].error);
    }
    assert_null(photo_profile_builtin("nope"));
    assert_string_equal(photo_profile_builtin(NULL)->name, "ssc");
}

static void test_severity_warn_and_off(void **state)
{
    struct fx_img img;
    base(&img);
    fx_levels(&img, 0.45, 0);
    struct photo_profile p = *photo_profile_builtin(NULL);
    p.severity[20] = PHOTO_SEVERITY_WARN; /* exposure.mean */
    p.severity[21] = PHOTO_SEVERITY_OFF;  /* exposure.clipping */
    assert_string_equal(photo_check_ids()[20], "exposure.mean");
    size_t len = 0;
    uint8_t *jpeg = fx_jpeg(&img, 80, 350, &len);
    struct photo_report *rep = check_bytes(state, jpeg, len, &p);
    expect_status(rep, "exposure.mean", PHOTO_STATUS_WARN);
    expect_status(rep, "exposure.clipping", PHOTO_STATUS_SKIP);
    photo_report_free(rep);
    free(jpeg);
    fx_free(&img);
}

static void test_failing_ids_line(void **state)
{
    struct fx_img img;
    base(&img);
    fx_levels(&img, 0.45, 0);
    fx_blur(&img, 4);
    struct photo_report *rep = check_img(state, &img, 80, 72);
    char line[256], tiny[24];
    int n = photo_report_failing_ids(rep, line, sizeof(line));
    assert_true(n >= 3);
    assert_non_null(strstr(line, "format.density"));
    assert_non_null(strstr(line, "exposure.mean"));
    assert_non_null(strstr(line, "sharpness"));
    /* A short buffer holds whole ids only. */
    assert_int_equal(photo_report_failing_ids(rep, tiny, sizeof(tiny)), n);
    assert_string_equal(tiny, "format.density");
    photo_report_free(rep);
    fx_free(&img);
}

static void test_checker_needs_models(void **state)
{
    (void)state;
    struct photo_checker *ck = (struct photo_checker *)0x1;
    assert_int_equal(photo_checker_new("/nonexistent", &ck), PHOTO_ERROR_MODEL);
    assert_ptr_equal(ck, (struct photo_checker *)0x1);
    /* A damaged cascade file is refused as a whole, not half-loaded. */
    char dir[] = "/tmp/cardline-models-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    const char *names[] = {"haarcascade_frontalface_default.xml", "haarcascade_eye.xml",
                           "haarcascade_eye_tree_eyeglasses.xml"};
    const char *bodies[] = {
        "<opencv_storage><cascade><stageType>BOOST</stageType><featureType>HAAR</featureType>"
        "<width>24</width><height>24</height><stages><_><stageThreshold>1</stageThreshold>"
        "<weakClassifiers><_><internalNodes>0 -1 7 0.5</internalNodes><leafValues>1 2"
        "</leafValues></_></weakClassifiers></_></stages><features><_><rects><_>0 0 30 2 -1."
        "</_><_>0 0 2 2 2.</_></rects></_></features></cascade></opencv_storage>",
        "<opencv_storage><cascade>", "not xml at all"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(bodies[i], f);
        fclose(f);
    }
    assert_int_equal(photo_checker_new(dir, &ck), PHOTO_ERROR_MODEL);
    assert_ptr_equal(ck, (struct photo_checker *)0x1);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    assert_string_equal(photo_status_name(PHOTO_STATUS_WARN), "warn");
    assert_non_null(strstr(photo_strerror(PHOTO_ERROR_MODEL), "opencv-data"));
    photo_checker_free(NULL);
    photo_report_free(NULL);
}

static void test_receipt_numbers(void **state)
{
    (void)state;
    char n[PHOTO_RECEIPT_NUMBER_LEN + 1];
    assert_int_equal(photo_receipt_number(2026, 11, 20, 427, n), 0);
    assert_int_equal(strlen(n), 18);
    assert_memory_equal(n, "P2026112000000427", 17);
    assert_int_equal(photo_receipt_number_valid(n), 0);
    /* Any single mistyped digit is caught by the check character. */
    for (int i = 1; i < 17; i++) {
        char m[sizeof(n)];
        memcpy(m, n, sizeof(n));
        m[i] = m[i] == '9' ? '0' : (char)(m[i] + 1);
        assert_int_equal(photo_receipt_number_valid(m), PHOTO_ERROR_INVALID);
    }
    assert_int_equal(photo_receipt_number_valid("P20261120"), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_receipt_number(2026, 13, 1, 1, n), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_receipt_number(2026, 1, 1, 0, n), PHOTO_ERROR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_portraits_pass_everything),
        cmocka_unit_test(test_real_photo_on_grey_backdrop),
        cmocka_unit_test(test_wrong_size),
        cmocka_unit_test(test_wrong_dpi),
        cmocka_unit_test(test_recompressed_at_quality_95),
        cmocka_unit_test(test_file_size_window_national_profile),
        cmocka_unit_test(test_cmyk_gets_a_clear_verdict),
        cmocka_unit_test(test_progressive),
        cmocka_unit_test(test_exif_rotated),
        cmocka_unit_test(test_greyscale_file_and_grey_in_disguise),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_png_only_where_allowed),
        cmocka_unit_test(test_coloured_background),
        cmocka_unit_test(test_uneven_background),
        cmocka_unit_test(test_border),
        cmocka_unit_test(test_clothing_blends_into_background),
        cmocka_unit_test(test_cat_and_no_face),
        cmocka_unit_test(test_two_faces),
        cmocka_unit_test(test_small_face),
        cmocka_unit_test(test_face_too_low),
        cmocka_unit_test(test_off_centre),
        cmocka_unit_test(test_rotated_10_degrees),
        cmocka_unit_test(test_eyes_covered),
        cmocka_unit_test(test_eye_distance),
        cmocka_unit_test(test_darkened),
        cmocka_unit_test(test_overexposed),
        cmocka_unit_test(test_flat_tones),
        cmocka_unit_test(test_blurred),
        cmocka_unit_test(test_colour_cast),
        cmocka_unit_test(test_side_lighting),
        cmocka_unit_test(test_glare_on_glasses),
        cmocka_unit_test(test_blocky_compression),
        cmocka_unit_test(test_profile_file_format),
        cmocka_unit_test(test_severity_warn_and_off),
        cmocka_unit_test(test_failing_ids_line),
        cmocka_unit_test(test_checker_needs_models),
        cmocka_unit_test(test_receipt_numbers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
