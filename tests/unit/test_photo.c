/* test_photo.c — cmocka unit tests for the photo library: decode, encode, hash and the basic gate */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

#include "photo.h"

/* A smooth colour test card: gradients survive 4:2:0 chroma subsampling, so decoded pixels stay close. */
static uint8_t *make_rgb(unsigned width, unsigned height)
{
    uint8_t *rgb = malloc((size_t)width * height * 3u);
    assert_non_null(rgb);
    for (unsigned y = 0; y < height; y++) {
        for (unsigned x = 0; x < width; x++) {
            uint8_t *p = rgb + ((size_t)y * width + x) * 3u;
            p[0] = (uint8_t)(40u + 160u * x / width);
            p[1] = (uint8_t)(60u + 120u * y / height);
            p[2] = (uint8_t)(200u - 120u * (x + y) / (width + height));
        }
    }
    return rgb;
}

static void encode_test_card(unsigned width, unsigned height, uint8_t **ret_jpeg, size_t *ret_len)
{
    uint8_t *rgb = make_rgb(width, height);
    assert_int_equal(photo_encode_jpeg(rgb, width, height, 90, 350, ret_jpeg, ret_len), 0);
    free(rgb);
}

/* ---- direct libjpeg writer for kinds photo_encode_jpeg will not produce ---------------------------- */

struct test_jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void test_jpeg_error_exit(j_common_ptr cinfo)
{
    longjmp(((struct test_jpeg_err *)cinfo->err)->jump, 1);
}

struct raw_jpeg_opts {
    J_COLOR_SPACE in_color_space;
    int components;
    bool arith;
    bool progressive;
};

/* Lives in the caller's frame so nothing written after setjmp is read from a clobbered local. */
struct raw_writer {
    struct jpeg_compress_struct cinfo;
    struct test_jpeg_err err;
    unsigned char *buf;
    unsigned long size;
    uint8_t *pixels;
};

static bool raw_writer_run(struct raw_writer *w, const struct raw_jpeg_opts *o, unsigned width,
                           unsigned height)
{
    size_t stride = (size_t)width * (size_t)o->components;

    w->cinfo.err = jpeg_std_error(&w->err.pub);
    w->err.pub.error_exit = test_jpeg_error_exit;
    if (setjmp(w->err.jump))
        return false;
    jpeg_create_compress(&w->cinfo);
    jpeg_mem_dest(&w->cinfo, &w->buf, &w->size);
    w->cinfo.image_width = width;
    w->cinfo.image_height = height;
    w->cinfo.input_components = o->components;
    w->cinfo.in_color_space = o->in_color_space;
    jpeg_set_defaults(&w->cinfo);
    jpeg_set_quality(&w->cinfo, 90, TRUE);
    w->cinfo.arith_code = o->arith ? TRUE : FALSE;
    if (o->progressive)
        jpeg_simple_progression(&w->cinfo);
    jpeg_start_compress(&w->cinfo, TRUE);
    while (w->cinfo.next_scanline < w->cinfo.image_height) {
        JSAMPROW row = w->pixels + (size_t)w->cinfo.next_scanline * stride;
        jpeg_write_scanlines(&w->cinfo, &row, 1);
    }
    jpeg_finish_compress(&w->cinfo);
    return true;
}

/* Returns false when this libjpeg cannot write the requested kind, so the caller can skip. */
static bool write_raw_jpeg(const struct raw_jpeg_opts *o, unsigned width, unsigned height, uint8_t **ret_jpeg,
                           size_t *ret_len)
{
    struct raw_writer w;
    size_t n = (size_t)width * height * (size_t)o->components;

    memset(&w, 0, sizeof(w));
    w.pixels = malloc(n);
    assert_non_null(w.pixels);
    for (size_t i = 0; i < n; i++)
        w.pixels[i] = (uint8_t)(i * 7u % 251u);
    bool ok = raw_writer_run(&w, o, width, height);
    jpeg_destroy_compress(&w.cinfo);
    free(w.pixels);
    if (!ok) {
        /* The refusals we expect (arithmetic coding not built in) happen before any output. */
        free(w.buf);
        return false;
    }
    *ret_jpeg = w.buf;
    *ret_len = w.size;
    return true;
}

/* Offset of the first start-of-frame marker's length field, or 0 when there is none. */
static size_t find_sof(const uint8_t *jpeg, size_t len)
{
    for (size_t i = 2; i + 9 < len; i++)
        if (jpeg[i] == 0xff && jpeg[i + 1] >= 0xc0 && jpeg[i + 1] <= 0xc2)
            return i + 2;
    return 0;
}

/* ---- PNG writer (classic API, because the simplified one cannot write pHYs) ------------------------ */

struct png_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
};

static void png_buf_write(png_structp png, png_bytep src, size_t n)
{
    struct png_buf *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2u;
        uint8_t *grown = realloc(b->data, cap);
        assert_non_null(grown);
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
}

/* zlib's crc32 would add a link dependency for one checksum; PNG uses the standard reflected CRC-32. */
static uint32_t png_crc(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

static void png_buf_flush(png_structp png)
{
    (void)png;
}

static void write_rgba_png(const uint8_t *rgba, unsigned width, unsigned height, uint32_t pixels_per_metre,
                           struct png_buf *out)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    assert_non_null(png);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    memset(out, 0, sizeof(*out));
    png_set_write_fn(png, out, png_buf_write, png_buf_flush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(png, info, pixels_per_metre, pixels_per_metre, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    for (unsigned y = 0; y < height; y++)
        png_write_row(png, rgba + (size_t)y * width * 4u);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
}

/* ---- tests ----------------------------------------------------------------------------------------- */

static void test_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int err = PHOTO_ERROR_IO; err <= PHOTO_ERROR_INVALID; err++) {
        assert_non_null(photo_strerror(err));
        assert_string_not_equal(photo_strerror(err), photo_strerror(-1000));
    }
    assert_string_equal(photo_strerror(-1000), "unknown photo error");
}

static void test_encode_decode_roundtrip(void **state)
{
    (void)state;
    uint8_t *rgb = make_rgb(PHOTO_WIDTH, PHOTO_HEIGHT);
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;

    assert_int_equal(photo_encode_jpeg(rgb, PHOTO_WIDTH, PHOTO_HEIGHT, 95, 350, &jpeg, &len), 0);
    assert_non_null(jpeg);
    assert_true(len > 100);
    /* Baseline (SOF0), not progressive. */
    size_t sof = find_sof(jpeg, len);
    assert_true(sof > 0);
    assert_int_equal(jpeg[sof - 1], 0xc0);

    assert_int_equal(photo_decode(jpeg, len, &img), 0);
    assert_non_null(img);
    assert_int_equal(img->width, PHOTO_WIDTH);
    assert_int_equal(img->height, PHOTO_HEIGHT);
    assert_int_equal(img->density_x, 350);
    assert_int_equal(img->density_y, 350);

    size_t n = (size_t)PHOTO_WIDTH * PHOTO_HEIGHT * 3u;
    unsigned long total = 0;
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)img->rgb[i] - (int)rgb[i]);
        total += (unsigned long)d;
        worst = d > worst ? d : worst;
    }
    assert_true(total / n <= 2);
    assert_true(worst <= 16);

    assert_int_equal(photo_check_basic(jpeg, len, NULL, 0), 0);
    photo_image_free(img);
    free(jpeg);
    free(rgb);
}

static void test_encode_rejects_bad_arguments(void **state)
{
    (void)state;
    uint8_t px[3] = {1, 2, 3};
    uint8_t *jpeg = (uint8_t *)0x1;
    size_t len = 7;

    assert_int_equal(photo_encode_jpeg(NULL, 1, 1, 80, 350, &jpeg, &len), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_encode_jpeg(px, 0, 1, 80, 350, &jpeg, &len), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_encode_jpeg(px, 1, 1, 0, 350, &jpeg, &len), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_encode_jpeg(px, 1, 1, 101, 350, &jpeg, &len), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_encode_jpeg(px, 1, 1, 80, 70000, &jpeg, &len), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_encode_jpeg(px, PHOTO_MAX_PIXELS + 1, 1, 80, 350, &jpeg, &len),
                     PHOTO_ERROR_TOO_LARGE);
    /* ret_* untouched on failure */
    assert_ptr_equal(jpeg, (uint8_t *)0x1);
    assert_int_equal(len, 7);
}

static void test_sha256_known_vectors(void **state)
{
    (void)state;
    char hex[65];

    photo_sha256_hex((const uint8_t *)"abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    photo_sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_truncated_jpeg_is_corrupt(void **state)
{
    (void)state;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = (struct photo_image *)0x1;
    char reason[128];

    encode_test_card(PHOTO_WIDTH, PHOTO_HEIGHT, &jpeg, &len);
    assert_int_equal(photo_decode(jpeg, len / 2, &img), PHOTO_ERROR_CORRUPT);
    assert_ptr_equal(img, (struct photo_image *)0x1);
    assert_int_equal(photo_check_basic(jpeg, len / 2, reason, sizeof(reason)), PHOTO_ERROR_CORRUPT);
    assert_non_null(strstr(reason, "truncated"));
    /* Cut inside the header too. */
    assert_int_equal(photo_decode(jpeg, 40, &img), PHOTO_ERROR_CORRUPT);
    free(jpeg);
}

static void test_damaged_jpeg_is_corrupt(void **state)
{
    (void)state;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;

    encode_test_card(PHOTO_WIDTH, PHOTO_HEIGHT, &jpeg, &len);
    /* Garbage in the middle of the entropy-coded data, including a bogus marker. */
    for (size_t i = len / 2; i < len / 2 + 64; i++)
        jpeg[i] = (uint8_t)(i % 3 == 0 ? 0xff : i * 37u);
    assert_int_equal(photo_decode(jpeg, len, &img), PHOTO_ERROR_CORRUPT);
    free(jpeg);
}

static void test_random_bytes_are_not_a_format(void **state)
{
    (void)state;
    uint8_t data[1024];
    uint32_t x = 12345;
    struct photo_image *img = NULL;
    char reason[128];

    for (size_t i = 0; i < sizeof(data); i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    data[0] = 0x42;
    assert_int_equal(photo_decode(data, sizeof(data), &img), PHOTO_ERROR_FORMAT);
    assert_null(img);
    assert_int_equal(photo_check_basic(data, sizeof(data), reason, sizeof(reason)), PHOTO_ERROR_FORMAT);
    assert_non_null(strstr(reason, "JPEG"));
    assert_int_equal(photo_decode(data, 0, &img), PHOTO_ERROR_FORMAT);
    assert_int_equal(photo_decode(NULL, 10, &img), PHOTO_ERROR_INVALID);
    assert_int_equal(photo_decode(data, sizeof(data), NULL), PHOTO_ERROR_INVALID);
}

static void test_png_decodes_with_alpha_on_white_and_density(void **state)
{
    (void)state;
    enum { W = 5, H = 3 };
    uint8_t rgba[W * H * 4];
    struct png_buf png;
    struct photo_image *img = NULL;

    for (unsigned i = 0; i < W * H; i++) {
        rgba[4 * i] = (uint8_t)(i * 10u);
        rgba[4 * i + 1] = (uint8_t)(200u - i * 5u);
        rgba[4 * i + 2] = 77;
        rgba[4 * i + 3] = 255;
    }
    rgba[4 * 1 + 3] = 0; /* fully transparent: white */
    rgba[4 * 2 + 0] = 0; /* half-transparent black: mid grey */
    rgba[4 * 2 + 1] = 0;
    rgba[4 * 2 + 2] = 0;
    rgba[4 * 2 + 3] = 128;
    write_rgba_png(rgba, W, H, 13780, &png); /* 350.01 dpi */

    assert_int_equal(photo_decode(png.data, png.len, &img), 0);
    assert_int_equal(img->width, W);
    assert_int_equal(img->height, H);
    assert_int_equal(img->density_x, 350);
    assert_int_equal(img->density_y, 350);
    for (unsigned i = 0; i < W * H; i++) {
        if (i == 1) {
            assert_memory_equal(img->rgb + 3, ((uint8_t[]){255, 255, 255}), 3);
        } else if (i == 2) {
            assert_memory_equal(img->rgb + 6, ((uint8_t[]){127, 127, 127}), 3);
        } else {
            assert_memory_equal(img->rgb + 3 * i, rgba + 4 * i, 3);
        }
    }
    photo_image_free(img);

    /* Truncated PNG */
    img = (struct photo_image *)0x1;
    assert_int_equal(photo_decode(png.data, png.len - 13, &img), PHOTO_ERROR_CORRUPT);
    assert_int_equal(photo_decode(png.data, png.len / 2, &img), PHOTO_ERROR_CORRUPT);
    assert_ptr_equal(img, (struct photo_image *)0x1);
    free(png.data);
}

static void test_grey_png_expands_to_rgb(void **state)
{
    (void)state;
    png_image image;
    uint8_t grey[4] = {0, 85, 170, 255};
    uint8_t buf[1024];
    png_alloc_size_t len = sizeof(buf);
    struct photo_image *img = NULL;

    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    image.width = 2;
    image.height = 2;
    image.format = PNG_FORMAT_GRAY;
    assert_true(png_image_write_to_memory(&image, buf, &len, 0, grey, 0, NULL));

    assert_int_equal(photo_decode(buf, len, &img), 0);
    assert_int_equal(img->density_x, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_memory_equal(img->rgb + 3 * i, ((uint8_t[]){grey[i], grey[i], grey[i]}), 3);
    photo_image_free(img);
}

static void test_greyscale_jpeg_fails_basic_check(void **state)
{
    (void)state;
    struct raw_jpeg_opts o = {.in_color_space = JCS_GRAYSCALE, .components = 1};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;
    char reason[128];

    assert_true(write_raw_jpeg(&o, PHOTO_WIDTH, PHOTO_HEIGHT, &jpeg, &len));
    /* It decodes (to RGB) ... */
    assert_int_equal(photo_decode(jpeg, len, &img), 0);
    assert_int_equal(img->rgb[0], img->rgb[1]);
    photo_image_free(img);
    /* ... but is no colour photo. */
    assert_int_equal(photo_check_basic(jpeg, len, reason, sizeof(reason)), PHOTO_ERROR_UNSUPPORTED);
    assert_non_null(strstr(reason, "greyscale"));
    free(jpeg);
}

static void test_wrong_size_fails_basic_check(void **state)
{
    (void)state;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    char reason[128];

    encode_test_card(400, 500, &jpeg, &len);
    assert_int_equal(photo_check_basic(jpeg, len, reason, sizeof(reason)), PHOTO_ERROR_UNSUPPORTED);
    assert_string_equal(reason, "photo is 400x500 pixels; 358x441 required");

    /* A short reason buffer still ends in NUL. */
    memset(reason, 'x', sizeof(reason));
    assert_int_equal(photo_check_basic(jpeg, len, reason, 9), PHOTO_ERROR_UNSUPPORTED);
    assert_string_equal(reason, "photo is");
    free(jpeg);
}

static void test_huge_dimensions_are_too_large(void **state)
{
    (void)state;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;
    char reason[128];

    encode_test_card(16, 16, &jpeg, &len);
    size_t sof = find_sof(jpeg, len);
    assert_true(sof > 0);
    /* SOF: length(2) precision(1) height(2) width(2) */
    jpeg[sof + 3] = 0xea; /* 60000 = 0xea60 */
    jpeg[sof + 4] = 0x60;
    jpeg[sof + 5] = 0xea;
    jpeg[sof + 6] = 0x60;
    /* Decoding 60000 x 60000 would need 10 GB; returning at once proves the header check came first. */
    assert_int_equal(photo_decode(jpeg, len, &img), PHOTO_ERROR_TOO_LARGE);
    assert_null(img);
    assert_int_equal(photo_check_basic(jpeg, len, reason, sizeof(reason)), PHOTO_ERROR_TOO_LARGE);
    assert_non_null(strstr(reason, "60000x60000"));
    free(jpeg);
}

static void test_huge_png_dimensions_are_too_large(void **state)
{
    (void)state;
    uint8_t rgba[4] = {1, 2, 3, 255};
    struct png_buf png;
    struct photo_image *img = NULL;

    write_rgba_png(rgba, 1, 1, 0, &png);
    /* IHDR data starts after signature(8) length(4) type(4): width at 16, height at 20. */
    memcpy(png.data + 16, (uint8_t[]){0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60}, 8);
    /* Fix the IHDR CRC so libpng reaches our limit rather than failing on the checksum. */
    uint32_t crc = png_crc(png.data + 12, 17);
    png.data[29] = (uint8_t)(crc >> 24);
    png.data[30] = (uint8_t)(crc >> 16);
    png.data[31] = (uint8_t)(crc >> 8);
    png.data[32] = (uint8_t)crc;
    assert_int_equal(photo_decode(png.data, png.len, &img), PHOTO_ERROR_TOO_LARGE);
    assert_null(img);
    free(png.data);
}

static void test_cmyk_jpeg_is_unsupported(void **state)
{
    (void)state;
    struct raw_jpeg_opts o = {.in_color_space = JCS_CMYK, .components = 4};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;
    char reason[128];

    assert_true(write_raw_jpeg(&o, 32, 32, &jpeg, &len));
    assert_int_equal(photo_decode(jpeg, len, &img), PHOTO_ERROR_UNSUPPORTED);
    assert_null(img);
    assert_int_equal(photo_check_basic(jpeg, len, reason, sizeof(reason)), PHOTO_ERROR_UNSUPPORTED);
    assert_non_null(strstr(reason, "CMYK"));
    free(jpeg);
}

static void test_arithmetic_jpeg_is_unsupported(void **state)
{
    (void)state;
    struct raw_jpeg_opts o = {.in_color_space = JCS_RGB, .components = 3, .arith = true};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;

    if (!write_raw_jpeg(&o, 32, 32, &jpeg, &len))
        skip(); /* this libjpeg cannot write arithmetic coding */
    assert_int_equal(photo_decode(jpeg, len, &img), PHOTO_ERROR_UNSUPPORTED);
    assert_null(img);
    free(jpeg);
}

static void test_12bit_jpeg_is_unsupported(void **state)
{
    (void)state;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;

    encode_test_card(16, 16, &jpeg, &len);
    size_t sof = find_sof(jpeg, len);
    assert_true(sof > 0);
    jpeg[sof + 2] = 12; /* sample precision */
    assert_int_equal(photo_decode(jpeg, len, &img), PHOTO_ERROR_UNSUPPORTED);
    assert_null(img);
    free(jpeg);
}

static void test_progressive_jpeg_decodes(void **state)
{
    (void)state;
    struct raw_jpeg_opts o = {.in_color_space = JCS_RGB, .components = 3, .progressive = true};
    uint8_t *jpeg = NULL;
    size_t len = 0;
    struct photo_image *img = NULL;

    assert_true(write_raw_jpeg(&o, 40, 24, &jpeg, &len));
    assert_int_equal(photo_decode(jpeg, len, &img), 0);
    assert_int_equal(img->width, 40);
    assert_int_equal(img->height, 24);
    photo_image_free(img);
    free(jpeg);
}

static void test_oversized_input_is_too_large(void **state)
{
    (void)state;
    size_t len = (size_t)PHOTO_MAX_BYTES + 1u;
    uint8_t *data = calloc(1, len);
    struct photo_image *img = NULL;
    char reason[128];

    assert_non_null(data);
    /* A valid-looking JPEG start, so the size check and not format detection must reject it. */
    data[0] = 0xff;
    data[1] = 0xd8;
    data[2] = 0xff;
    assert_int_equal(photo_decode(data, len, &img), PHOTO_ERROR_TOO_LARGE);
    assert_null(img);
    assert_int_equal(photo_check_basic(data, len, reason, sizeof(reason)), PHOTO_ERROR_TOO_LARGE);
    assert_non_null(strstr(reason, "4194305 bytes"));
    free(data);
}

static void test_free_accepts_null(void **state)
{
    (void)state;
    photo_image_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_covers_every_code),
        cmocka_unit_test(test_encode_decode_roundtrip),
        cmocka_unit_test(test_encode_rejects_bad_arguments),
        cmocka_unit_test(test_sha256_known_vectors),
        cmocka_unit_test(test_truncated_jpeg_is_corrupt),
        cmocka_unit_test(test_damaged_jpeg_is_corrupt),
        cmocka_unit_test(test_random_bytes_are_not_a_format),
        cmocka_unit_test(test_png_decodes_with_alpha_on_white_and_density),
        cmocka_unit_test(test_grey_png_expands_to_rgb),
        cmocka_unit_test(test_greyscale_jpeg_fails_basic_check),
        cmocka_unit_test(test_wrong_size_fails_basic_check),
        cmocka_unit_test(test_huge_dimensions_are_too_large),
        cmocka_unit_test(test_huge_png_dimensions_are_too_large),
        cmocka_unit_test(test_cmyk_jpeg_is_unsupported),
        cmocka_unit_test(test_arithmetic_jpeg_is_unsupported),
        cmocka_unit_test(test_12bit_jpeg_is_unsupported),
        cmocka_unit_test(test_progressive_jpeg_decodes),
        cmocka_unit_test(test_oversized_input_is_too_large),
        cmocka_unit_test(test_free_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
