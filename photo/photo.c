/* photo.c — decodes, encodes, hashes and gates applicants' photos (JPEG via libjpeg, PNG via libpng) */
#include "photo.h"
#include "internal.h"

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <openssl/evp.h>

/* A progressive JPEG can carry thousands of tiny scans that each cost a full pass over the coefficients;
 * real encoders emit about ten, so anything beyond this is an attack or garbage, not a photo. */
#define JPEG_MAX_SCANS 500

/* libjpeg's mem destination starts its buffer at 4 KiB; a 358 x 441 photo is 15-60 KiB. */
#define ENCODE_INITIAL_CAPACITY (64u * 1024u)

/* EXIF needs only IFD0's orientation tag; a camera's APP1 with thumbnails is under 64 KiB by definition. */
#define EXIF_MAX_ENTRIES 512

const char *photo_strerror(int err)
{
    switch (err) {
    case 0:
        return N_("success");
    case PHOTO_ERROR_INVALID:
        return N_("invalid argument");
    case PHOTO_ERROR_NOMEM:
        return N_("out of memory");
    case PHOTO_ERROR_FORMAT:
        return N_("not a JPEG or PNG file");
    case PHOTO_ERROR_CORRUPT:
        return N_("truncated or damaged image file");
    case PHOTO_ERROR_TOO_LARGE:
        return N_("image file or dimensions too large");
    case PHOTO_ERROR_UNSUPPORTED:
        return N_("unsupported kind of image");
    case PHOTO_ERROR_IO:
        return N_("input/output error");
    case PHOTO_ERROR_MODEL:
        return N_("face/eye detection models missing or unreadable (Debian package opencv-data)");
    case PHOTO_ERROR_PROFILE:
        return N_("malformed photo check profile");
    default:
        return N_("unknown photo error");
    }
}

void photo_image_free(struct photo_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    free(img);
}

/* ---- libjpeg glue ---------------------------------------------------------------------------------- */

/* libjpeg's default error handler calls exit(); ours jumps back to the caller with a photo_error. */
struct jpeg_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int code;
    const char *why;
};

static _Noreturn void jpeg_on_error_exit(j_common_ptr cinfo)
{
    struct jpeg_err *err = (struct jpeg_err *)cinfo->err;

    if (err->code == 0) {
        switch (err->pub.msg_code) {
        case JERR_OUT_OF_MEMORY:
            err->code = PHOTO_ERROR_NOMEM;
            break;
        case JERR_BAD_PRECISION:
            err->code = PHOTO_ERROR_UNSUPPORTED;
            err->why = N_("photo is not an 8-bit JPEG");
            break;
        case JERR_ARITH_NOTIMPL:
            err->code = PHOTO_ERROR_UNSUPPORTED;
            err->why = N_("photo uses arithmetic-coded JPEG; save it as a baseline (Huffman) JPEG");
            break;
        case JERR_CONVERSION_NOTIMPL:
            err->code = PHOTO_ERROR_UNSUPPORTED;
            err->why = N_("photo uses an unsupported JPEG colour space");
            break;
        case JERR_IMAGE_TOO_BIG:
            err->code = PHOTO_ERROR_TOO_LARGE;
            break;
        default:
            err->code = PHOTO_ERROR_CORRUPT;
            break;
        }
    }
    longjmp(err->jump, 1);
}

/* Library code never logs; warnings are only counted, because libjpeg reports truncated or damaged
 * entropy data as a warning and pads the image with grey instead of failing. */
static void jpeg_on_emit_message(j_common_ptr cinfo, int msg_level)
{
    if (msg_level < 0)
        cinfo->err->num_warnings++;
}

static void jpeg_on_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void jpeg_init_err(struct jpeg_err *err)
{
    jpeg_std_error(&err->pub);
    err->pub.error_exit = jpeg_on_error_exit;
    err->pub.emit_message = jpeg_on_emit_message;
    err->pub.output_message = jpeg_on_output_message;
    err->code = 0;
    err->why = NULL;
}

static void jpeg_on_progress(j_common_ptr cinfo)
{
    struct jpeg_err *err = (struct jpeg_err *)cinfo->err;

    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > JPEG_MAX_SCANS) {
        err->code = PHOTO_ERROR_CORRUPT;
        longjmp(err->jump, 1);
    }
}

/* Everything the JPEG decoder owns lives here, in the caller's frame, so nothing that must be freed
 * is a local of the function that calls setjmp (those are indeterminate after longjmp). */
struct jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_err err;
    struct jpeg_progress_mgr progress;
    uint8_t *rgb;
    unsigned density_x;
    unsigned density_y;
    unsigned components;
    int progressive;
    int quality;
    unsigned orientation;
};

static unsigned jfif_density_dpi(unsigned unit, unsigned value)
{
    if (unit == 1)
        return value;
    if (unit == 2) /* dots per cm */
        return (value * 254u + 50u) / 100u;
    return 0;
}

/* libjpeg's standard luminance table (natural order), which jpeg_set_quality scales; comparing a file's table
 * with it gives the quality setting the way ImageMagick estimates it. */
static const unsigned std_luminance[64] = {
    16, 11,  10,  16, 24, 40, 51, 61, 12,  12,  14,  19,  26, 58, 60, 55,  14,  13,  16,  24, 40, 57,
    69, 56,  14,  17, 22, 29, 51, 87, 80,  62,  18,  22,  37, 56, 68, 109, 103, 77,  24,  35, 55, 64,
    81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98,  112, 100, 103, 99};

static int estimate_quality(const JQUANT_TBL *tbl)
{
    unsigned long sum = 0, std = 0;

    if (!tbl)
        return 0;
    for (int i = 0; i < 64; i++) {
        sum += tbl->quantval[i];
        std += std_luminance[i];
    }
    /* scale is the percentage jpeg_set_quality applied: q < 50 -> 5000 / q, else 200 - 2q. */
    double scale = 100.0 * (double)sum / (double)std;
    double q = scale <= 100.0 ? (200.0 - scale) / 2.0 : 5000.0 / scale;
    int qi = (int)(q + 0.5);
    return qi < 1 ? 1 : qi > 100 ? 100 : qi;
}

static unsigned read16(const uint8_t *p, bool le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t read32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The EXIF orientation tag (0x0112) of IFD0, or 0. Every offset is checked against the marker's length, so a
 * hostile APP1 can only make us miss the tag. */
static unsigned exif_orientation(const uint8_t *d, size_t len)
{
    if (len < 14 || memcmp(d, "Exif\0\0", 6) != 0)
        return 0;
    const uint8_t *t = d + 6;
    size_t tlen = len - 6;
    bool le;
    if (t[0] == 'I' && t[1] == 'I')
        le = true;
    else if (t[0] == 'M' && t[1] == 'M')
        le = false;
    else
        return 0;
    if (read16(t + 2, le) != 42)
        return 0;
    uint32_t ifd = read32(t + 4, le);
    if (ifd > tlen || tlen - ifd < 2)
        return 0;
    unsigned n = read16(t + ifd, le);
    if (n > EXIF_MAX_ENTRIES)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        size_t e = ifd + 2u + 12u * i;
        if (e + 12u > tlen)
            return 0;
        if (read16(t + e, le) == 0x0112) {
            unsigned v = read16(t + e + 8, le);
            return v >= 1 && v <= 8 ? v : 0;
        }
    }
    return 0;
}

static int jpeg_decode_run(struct jpeg_decoder *d, const uint8_t *data, size_t len,
                           struct photo_decode_info *info)
{
    struct jpeg_decompress_struct *cinfo = &d->cinfo;

    jpeg_init_err(&d->err);
    cinfo->err = &d->err.pub;
    if (setjmp(d->err.jump)) {
        /* libjpeg refuses dimensions above 65500 itself, after it has parsed them. */
        info->width = cinfo->image_width;
        info->height = cinfo->image_height;
        info->why = d->err.why;
        return d->err.code;
    }
    jpeg_create_decompress(cinfo);
    d->progress.progress_monitor = jpeg_on_progress;
    cinfo->progress = &d->progress;
    jpeg_mem_src(cinfo, data, (unsigned long)len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(cinfo, TRUE);

    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    d->components = (unsigned)cinfo->num_components;
    d->progressive = cinfo->progressive_mode ? 1 : 0;
    d->quality = estimate_quality(cinfo->quant_tbl_ptrs[0]);
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && !d->orientation)
            d->orientation = exif_orientation(m->data, m->data_length);
    }
    if (cinfo->data_precision != 8) {
        info->why = N_("photo is not an 8-bit JPEG");
        return PHOTO_ERROR_UNSUPPORTED;
    }
    if (cinfo->arith_code) {
        info->why = N_("photo uses arithmetic-coded JPEG; save it as a baseline (Huffman) JPEG");
        return PHOTO_ERROR_UNSUPPORTED;
    }
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK ||
        cinfo->num_components == 4) {
        info->why = N_("photo is a CMYK JPEG; an RGB photo is required");
        return PHOTO_ERROR_UNSUPPORTED;
    }
    if (cinfo->num_components != 1 && cinfo->num_components != 3) {
        info->why = N_("photo uses an unsupported JPEG colour space");
        return PHOTO_ERROR_UNSUPPORTED;
    }
    /* Checked before jpeg_start_decompress, which allocates per-image buffers. */
    if (cinfo->image_width > PHOTO_MAX_PIXELS || cinfo->image_height > PHOTO_MAX_PIXELS)
        return PHOTO_ERROR_TOO_LARGE;

    if (cinfo->saw_JFIF_marker) {
        d->density_x = jfif_density_dpi(cinfo->density_unit, cinfo->X_density);
        d->density_y = jfif_density_dpi(cinfo->density_unit, cinfo->Y_density);
    }

    cinfo->out_color_space = JCS_RGB;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != 3 || cinfo->output_width != cinfo->image_width ||
        cinfo->output_height != cinfo->image_height)
        return PHOTO_ERROR_UNSUPPORTED;

    size_t stride = (size_t)cinfo->output_width * 3u;
    d->rgb = malloc(stride * cinfo->output_height);
    if (!d->rgb)
        return PHOTO_ERROR_NOMEM;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = d->rgb + (size_t)cinfo->output_scanline * stride;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1)
            return PHOTO_ERROR_CORRUPT; /* a memory source never suspends, so no progress means damage */
    }
    jpeg_finish_decompress(cinfo);
    if (d->err.pub.num_warnings > 0)
        return PHOTO_ERROR_CORRUPT;
    return 0;
}

static int decode_jpeg(const uint8_t *data, size_t len, struct photo_image *img,
                       struct photo_decode_info *info)
{
    struct jpeg_decoder d;

    /* Zeroed so jpeg_destroy_decompress is a no-op when creation itself failed. */
    memset(&d, 0, sizeof(d));
    int r = jpeg_decode_run(&d, data, len, info);
    jpeg_destroy_decompress(&d.cinfo);
    if (r < 0) {
        free(d.rgb);
        return r;
    }
    img->width = info->width;
    img->height = info->height;
    img->density_x = d.density_x;
    img->density_y = d.density_y;
    img->rgb = d.rgb;
    img->format = PHOTO_FORMAT_JPEG;
    img->components = d.components;
    img->progressive = d.progressive;
    img->quality = d.quality;
    img->orientation = d.orientation;
    return 0;
}

/* ---- libpng glue ----------------------------------------------------------------------------------- */

struct png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t len;
    size_t pos;
    int code; /* set before png_error when we, not libpng, decide the outcome */
    uint8_t *pixels;
    png_bytep *rows;
    unsigned density_x;
    unsigned density_y;
    unsigned components;
    int interlaced;
};

static _Noreturn void png_on_error(png_structp png, png_const_charp msg)
{
    struct png_decoder *d = png_get_error_ptr(png);

    (void)msg;
    if (d->code == 0)
        d->code = PHOTO_ERROR_CORRUPT;
    png_longjmp(png, 1);
}

/* Library code never logs; libpng's warnings (odd ICC profiles, bad ancillary CRCs) do not spoil pixels. */
static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_on_read(png_structp png, png_bytep out, size_t n)
{
    struct png_decoder *d = png_get_io_ptr(png);

    if (n > d->len - d->pos) {
        d->code = PHOTO_ERROR_CORRUPT;
        png_error(png, "unexpected end of PNG data");
    }
    memcpy(out, d->data + d->pos, n);
    d->pos += n;
}

static unsigned phys_dpi(png_uint_32 pixels_per_metre)
{
    return (unsigned)(((uint64_t)pixels_per_metre * 254u + 5000u) / 10000u);
}

static int png_decode_run(struct png_decoder *d, struct photo_decode_info *info)
{
    png_uint_32 width, height, res_x, res_y;
    int bit_depth, color_type, unit, interlace;

    if (setjmp(png_jmpbuf(d->png)))
        return d->code ? d->code : PHOTO_ERROR_CORRUPT;

    /* libpng's own ceiling is not ours; lift it so an oversized header reaches our check and gets
     * TOO_LARGE rather than a generic libpng error. */
    png_set_user_limits(d->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_read_fn(d->png, d, png_on_read);
    png_read_info(d->png, d->info);
    png_get_IHDR(d->png, d->info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    info->width = width;
    info->height = height;
    d->components = color_type & PNG_COLOR_MASK_COLOR ? 3u : 1u;
    d->interlaced = interlace != PNG_INTERLACE_NONE;
    if (width > PHOTO_MAX_PIXELS || height > PHOTO_MAX_PIXELS)
        return PHOTO_ERROR_TOO_LARGE;

    if (png_get_pHYs(d->png, d->info, &res_x, &res_y, &unit) && unit == PNG_RESOLUTION_METER) {
        d->density_x = phys_dpi(res_x);
        d->density_y = phys_dpi(res_y);
    }

    /* Normalise every PNG flavour to 8-bit RGBA, then composite on white ourselves. */
    if (color_type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(d->png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
        png_set_expand_gray_1_2_4_to_8(d->png);
    if (png_get_valid(d->png, d->info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(d->png);
    if (bit_depth == 16)
        png_set_scale_16(d->png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(d->png);
    if (!(color_type & PNG_COLOR_MASK_ALPHA) && !png_get_valid(d->png, d->info, PNG_INFO_tRNS))
        png_set_add_alpha(d->png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);
    if (png_get_channels(d->png, d->info) != 4 || png_get_bit_depth(d->png, d->info) != 8 ||
        png_get_rowbytes(d->png, d->info) != (size_t)width * 4u)
        return PHOTO_ERROR_UNSUPPORTED;

    size_t stride = (size_t)width * 4u;
    d->pixels = malloc(stride * height);
    d->rows = malloc(sizeof(*d->rows) * height);
    if (!d->pixels || !d->rows)
        return PHOTO_ERROR_NOMEM;
    for (png_uint_32 y = 0; y < height; y++)
        d->rows[y] = d->pixels + (size_t)y * stride;
    png_read_image(d->png, d->rows);
    /* Reading to IEND catches files cut off after the last image row. */
    png_read_end(d->png, NULL);
    return 0;
}

/* Composites RGBA on white and packs to RGB in place: output byte 3i never overtakes input byte 4i. */
static void rgba_to_rgb_on_white(uint8_t *pixels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *s = pixels + 4u * i;
        unsigned a = s[3];
        uint8_t r = (uint8_t)((s[0] * a + 255u * (255u - a) + 127u) / 255u);
        uint8_t g = (uint8_t)((s[1] * a + 255u * (255u - a) + 127u) / 255u);
        uint8_t b = (uint8_t)((s[2] * a + 255u * (255u - a) + 127u) / 255u);
        pixels[3u * i] = r;
        pixels[3u * i + 1u] = g;
        pixels[3u * i + 2u] = b;
    }
}

static int decode_png(const uint8_t *data, size_t len, struct photo_image *img,
                      struct photo_decode_info *info)
{
    struct png_decoder d;

    memset(&d, 0, sizeof(d));
    d.data = data;
    d.len = len;
    d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d, png_on_error, png_on_warning);
    if (!d.png)
        return PHOTO_ERROR_NOMEM;
    d.info = png_create_info_struct(d.png);
    if (!d.info) {
        png_destroy_read_struct(&d.png, NULL, NULL);
        return PHOTO_ERROR_NOMEM;
    }
    int r = png_decode_run(&d, info);
    png_destroy_read_struct(&d.png, &d.info, NULL);
    free(d.rows);
    if (r < 0) {
        free(d.pixels);
        return r;
    }

    size_t count = (size_t)info->width * info->height;
    rgba_to_rgb_on_white(d.pixels, count);
    /* Give back the alpha quarter; if the allocator declines, the larger block is still valid. */
    uint8_t *shrunk = realloc(d.pixels, count * 3u);
    img->rgb = shrunk ? shrunk : d.pixels;
    img->width = info->width;
    img->height = info->height;
    img->density_x = d.density_x;
    img->density_y = d.density_y;
    img->format = PHOTO_FORMAT_PNG;
    img->components = d.components;
    img->progressive = d.interlaced;
    return 0;
}

/* ---- public decode --------------------------------------------------------------------------------- */

static bool is_jpeg(const uint8_t *data, size_t len)
{
    return len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff;
}

static bool is_png(const uint8_t *data, size_t len)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return len >= sizeof(sig) && memcmp(data, sig, sizeof(sig)) == 0;
}

int photo_decode_detailed(const uint8_t *data, size_t len, struct photo_image **ret,
                          struct photo_decode_info *info)
{
    struct photo_image *img;
    int r;

    if (!ret || (!data && len > 0))
        return PHOTO_ERROR_INVALID;
    if (len > PHOTO_MAX_BYTES)
        return PHOTO_ERROR_TOO_LARGE;
    if (!is_jpeg(data, len) && !is_png(data, len))
        return PHOTO_ERROR_FORMAT;

    img = calloc(1, sizeof(*img));
    if (!img)
        return PHOTO_ERROR_NOMEM;
    r = is_jpeg(data, len) ? decode_jpeg(data, len, img, info) : decode_png(data, len, img, info);
    if (r < 0) {
        free(img);
        return r;
    }
    *ret = img;
    return 0;
}

int photo_decode(const uint8_t *data, size_t len, struct photo_image **ret)
{
    struct photo_decode_info info = {0};

    return photo_decode_detailed(data, len, ret, &info);
}

/* ---- encode ---------------------------------------------------------------------------------------- */

/* Our own growable destination instead of jpeg_mem_dest, whose buffer leaks and whose out pointer
 * dangles when compression fails after the buffer grew. The buffer belongs to us until handed out. */
struct mem_dest {
    struct jpeg_destination_mgr pub;
    uint8_t *buf;
    size_t cap;
};

static void mem_dest_fail(j_compress_ptr cinfo)
{
    cinfo->err->msg_code = JERR_OUT_OF_MEMORY;
    (*cinfo->err->error_exit)((j_common_ptr)cinfo);
}

static void mem_dest_init(j_compress_ptr cinfo)
{
    struct mem_dest *dest = (struct mem_dest *)cinfo->dest;

    dest->buf = malloc(ENCODE_INITIAL_CAPACITY);
    if (!dest->buf)
        mem_dest_fail(cinfo);
    dest->cap = ENCODE_INITIAL_CAPACITY;
    dest->pub.next_output_byte = dest->buf;
    dest->pub.free_in_buffer = dest->cap;
}

static boolean mem_dest_empty(j_compress_ptr cinfo)
{
    struct mem_dest *dest = (struct mem_dest *)cinfo->dest;
    /* libjpeg calls this only when the buffer is completely full. */
    size_t used = dest->cap;
    uint8_t *grown = realloc(dest->buf, dest->cap * 2u);

    if (!grown)
        mem_dest_fail(cinfo);
    dest->buf = grown;
    dest->cap *= 2u;
    dest->pub.next_output_byte = dest->buf + used;
    dest->pub.free_in_buffer = dest->cap - used;
    return TRUE;
}

static void mem_dest_term(j_compress_ptr cinfo)
{
    (void)cinfo;
}

struct jpeg_encoder {
    struct jpeg_compress_struct cinfo;
    struct jpeg_err err;
    struct mem_dest dest;
};

static int jpeg_encode_run(struct jpeg_encoder *e, const uint8_t *rgb, unsigned width, unsigned height,
                           int quality, unsigned dpi)
{
    struct jpeg_compress_struct *cinfo = &e->cinfo;

    jpeg_init_err(&e->err);
    cinfo->err = &e->err.pub;
    if (setjmp(e->err.jump))
        return e->err.code == PHOTO_ERROR_NOMEM ? PHOTO_ERROR_NOMEM : PHOTO_ERROR_INVALID;
    jpeg_create_compress(cinfo);
    e->dest.pub.init_destination = mem_dest_init;
    e->dest.pub.empty_output_buffer = mem_dest_empty;
    e->dest.pub.term_destination = mem_dest_term;
    cinfo->dest = &e->dest.pub;

    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = 3;
    cinfo->in_color_space = JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    /* Optimised Huffman tables keep the file baseline (SOF0) and shrink it by several percent, which
     * matters against the per-region file-size windows. */
    cinfo->optimize_coding = TRUE;
    cinfo->write_JFIF_header = TRUE;
    cinfo->density_unit = 1;
    cinfo->X_density = (UINT16)dpi;
    cinfo->Y_density = (UINT16)dpi;

    jpeg_start_compress(cinfo, TRUE);
    size_t stride = (size_t)width * 3u;
    while (cinfo->next_scanline < cinfo->image_height) {
        /* libjpeg's row type is not const, but compression only reads the rows. */
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo->next_scanline * stride);
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    return 0;
}

int photo_encode_jpeg(const uint8_t *rgb, unsigned width, unsigned height, int quality, unsigned dpi,
                      uint8_t **ret_data, size_t *ret_len)
{
    struct jpeg_encoder e;

    if (!rgb || !ret_data || !ret_len || width == 0 || height == 0 || quality < 1 || quality > 100 ||
        dpi > 65535u)
        return PHOTO_ERROR_INVALID;
    if (width > PHOTO_MAX_PIXELS || height > PHOTO_MAX_PIXELS)
        return PHOTO_ERROR_TOO_LARGE;

    memset(&e, 0, sizeof(e));
    int r = jpeg_encode_run(&e, rgb, width, height, quality, dpi);
    size_t len = e.dest.cap - e.dest.pub.free_in_buffer;
    jpeg_destroy_compress(&e.cinfo);
    if (r < 0) {
        free(e.dest.buf);
        return r;
    }
    *ret_data = e.dest.buf;
    *ret_len = len;
    return 0;
}

/* ---- hashing --------------------------------------------------------------------------------------- */

void photo_sha256_hex(const uint8_t *data, size_t len, char ret_hex[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!ret_hex)
        return;
    ret_hex[0] = '\0';
    if (!data && len > 0)
        return;
    /* The signature has no error return: an empty string is what a failed digest looks like. */
    if (!EVP_Digest(data ? (const void *)data : "", len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        return;
    for (unsigned i = 0; i < 32; i++) {
        ret_hex[2 * i] = hex[md[i] >> 4];
        ret_hex[2 * i + 1] = hex[md[i] & 0x0f];
    }
    ret_hex[64] = '\0';
}

/* ---- the basic gate -------------------------------------------------------------------------------- */

/* JPEG chroma rounding moves a grey pixel by a level or two per channel; more than that is colour. */
#define GREY_TOLERANCE 2

static bool is_greyscale(const struct photo_image *img)
{
    size_t count = (size_t)img->width * img->height;

    for (size_t i = 0; i < count; i++) {
        const uint8_t *p = img->rgb + 3u * i;
        if (abs(p[0] - p[1]) > GREY_TOLERANCE || abs(p[1] - p[2]) > GREY_TOLERANCE)
            return false;
    }
    return true;
}

void photo_describe_decode_failure(int err, size_t len, const struct photo_decode_info *info, char *reason,
                                   size_t reason_size)
{
    switch (err) {
    case PHOTO_ERROR_INVALID:
        snprintf(reason, reason_size, N_("no photo data was given"));
        break;
    case PHOTO_ERROR_NOMEM:
        snprintf(reason, reason_size, N_("out of memory while decoding the photo; try again"));
        break;
    case PHOTO_ERROR_FORMAT:
        if (len == 0)
            snprintf(reason, reason_size, N_("photo file is empty"));
        else
            snprintf(reason, reason_size, N_("photo is neither JPEG nor PNG"));
        break;
    case PHOTO_ERROR_CORRUPT:
        snprintf(reason, reason_size, N_("photo file is truncated or damaged (%zu bytes)"), len);
        break;
    case PHOTO_ERROR_TOO_LARGE:
        if (len > PHOTO_MAX_BYTES)
            snprintf(reason, reason_size, N_("photo file is %zu bytes; at most %u allowed"), len,
                     PHOTO_MAX_BYTES);
        else if (info->width > 0 && info->height > 0)
            snprintf(reason, reason_size, N_("photo is %ux%u pixels; %ux%u required"), info->width,
                     info->height, PHOTO_WIDTH, PHOTO_HEIGHT);
        else
            snprintf(reason, reason_size, N_("photo dimensions are too large; %ux%u required"), PHOTO_WIDTH,
                     PHOTO_HEIGHT);
        break;
    case PHOTO_ERROR_UNSUPPORTED:
        snprintf(reason, reason_size, "%s",
                 info->why ? info->why : N_("photo is an unsupported kind of image"));
        break;
    default:
        snprintf(reason, reason_size, N_("photo could not be decoded: %s"), photo_strerror(err));
        break;
    }
}

int photo_check_basic(const uint8_t *data, size_t len, char *reason, size_t reason_size)
{
    struct photo_decode_info info = {0};
    struct photo_image *img = NULL;
    char scratch[1];
    int r;

    /* Callers that only want the verdict may pass no buffer; snprintf then writes nowhere. */
    if (!reason || reason_size == 0) {
        reason = scratch;
        reason_size = sizeof(scratch);
    }
    reason[0] = '\0';

    r = photo_decode_detailed(data, len, &img, &info);
    if (r < 0) {
        photo_describe_decode_failure(r, len, &info, reason, reason_size);
        return r;
    }
    if (img->width != PHOTO_WIDTH || img->height != PHOTO_HEIGHT) {
        snprintf(reason, reason_size, "photo is %ux%u pixels; %ux%u required", img->width, img->height,
                 PHOTO_WIDTH, PHOTO_HEIGHT);
        r = PHOTO_ERROR_UNSUPPORTED;
    } else if (is_greyscale(img)) {
        snprintf(reason, reason_size, "photo is greyscale; a colour photo is required");
        r = PHOTO_ERROR_UNSUPPORTED;
    }
    photo_image_free(img);
    return r;
}
