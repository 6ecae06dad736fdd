/* panel.c — splits a rendered face into Y, M, C, K and O panels and packs them into the printers' bit formats
 */
#include "codec/panel.h"
#include "simd-private.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The quarter turn: panel line l is face column l; dot 0 is the bottom row of the face. A printer that
 * feeds the other way round wants PANEL_TURN_CLOCKWISE false. */
#define PANEL_TURN_CLOCKWISE true
/* Dye polarity: true = a higher level means more dye. Kept here so one switch fixes a printer that
 * wants the opposite. (printers.md: on K a set bit means ink.) */
#define PANEL_DYE_HIGH_IS_INK true

/* The turn unrolled: face column x goes to panel line PANEL_LINE(x), face row y to dot PANEL_DOT(y). */
#define PANEL_LINE(x) (PANEL_TURN_CLOCKWISE ? (x) : PRINTER_FACE_WIDTH - 1 - (x))
#define PANEL_DOT(y)  (PANEL_TURN_CLOCKWISE ? PRINTER_FACE_HEIGHT - 1 - (y) : (y))

/* The split turns the face in tiles PANEL_TILE columns wide: one SSE2 register per tile row. */
#define PANEL_TILE 16

void printer_panel_source(unsigned line, unsigned dot, unsigned *ret_x, unsigned *ret_y)
{
    *ret_x = PANEL_TURN_CLOCKWISE ? line : PRINTER_FACE_WIDTH - 1 - line;
    *ret_y = PANEL_TURN_CLOCKWISE ? PRINTER_FACE_HEIGHT - 1 - dot : dot;
}

void printer_panels_free(struct printer_panels *p)
{
    if (!p)
        return;
    free(p->y);
    free(p->m);
    free(p->c);
    free(p->k);
    free(p->o);
    free(p);
}

#if !defined(__SSE2__)
static uint8_t dye(uint8_t channel)
{
    return PANEL_DYE_HIGH_IS_INK ? (uint8_t)(255 - channel) : channel;
}

/* One face pixel to its four inked panels; black text goes on K only, since composite black under
 * resin would smear its edges. */
static void split_pixel(const struct printer_raster *r, unsigned x, unsigned y, struct printer_panels *p)
{
    const uint8_t *rgb = r->rgb + ((size_t)y * PRINTER_FACE_WIDTH + x) * 3;
    size_t i = (size_t)PANEL_LINE(x) * PRINTER_PANEL_DOTS + PANEL_DOT(y);
    bool resin = r->kmask[(size_t)y * PRINTER_FACE_WIDTH + x] != 0;

    p->y[i] = resin ? 0 : dye(rgb[2]);
    p->m[i] = resin ? 0 : dye(rgb[1]);
    p->c[i] = resin ? 0 : dye(rgb[0]);
    p->k[i] = resin;
}

/* The pixels of rows [y0, y1) and columns [x0, x1) one at a time (without SSE2). */
static void split_rect(const struct printer_raster *r, unsigned x0, unsigned x1, unsigned y0, unsigned y1,
                       struct printer_panels *p)
{
    for (unsigned y = y0; y < y1; y++)
        for (unsigned x = x0; x < x1; x++)
            split_pixel(r, x, y, p);
}

#endif

#if defined(__SSE2__)
/* Turns 8 rows of 16 bytes into 16 columns of 8 bytes: out[j] holds columns 2j (low half) and 2j + 1
 * (high half). Three rounds of interleaving, all in registers. */
static inline void transpose8x16(const __m128i in[8], __m128i out[8])
{
    __m128i a[8], b[8];

#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        a[i] = _mm_unpacklo_epi8(in[2 * i], in[2 * i + 1]);     /* columns 0..7 of rows 2i, 2i + 1 */
        a[i + 4] = _mm_unpackhi_epi8(in[2 * i], in[2 * i + 1]); /* columns 8..15 */
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        /* columns 8h..8h+3 and 8h+4..8h+7 of rows 0..3 and 4..7 */
        b[4 * h] = _mm_unpacklo_epi16(a[4 * h], a[4 * h + 1]);
        b[4 * h + 1] = _mm_unpackhi_epi16(a[4 * h], a[4 * h + 1]);
        b[4 * h + 2] = _mm_unpacklo_epi16(a[4 * h + 2], a[4 * h + 3]);
        b[4 * h + 3] = _mm_unpackhi_epi16(a[4 * h + 2], a[4 * h + 3]);
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        out[4 * h] = _mm_unpacklo_epi32(b[4 * h], b[4 * h + 2]);     /* columns 8h, 8h+1 */
        out[4 * h + 1] = _mm_unpackhi_epi32(b[4 * h], b[4 * h + 2]); /* columns 8h+2, 8h+3 */
        out[4 * h + 2] = _mm_unpacklo_epi32(b[4 * h + 1], b[4 * h + 3]);
        out[4 * h + 3] = _mm_unpackhi_epi32(b[4 * h + 1], b[4 * h + 3]);
    }
}

/* A band of face rows as four planes (Y, M, C, K), each tile's rows in dot order. PANEL_BAND rows make
 * each tile column of the band one run of PANEL_BAND dots per panel line. */
#define PANEL_BAND 64

struct panel_band {
    uint8_t plane[4][PANEL_BAND][PRINTER_FACE_WIDTH];
};

/* The first column of tile i of a row: the last tile of a row is moved left to end at the face's edge,
 * overlapping the one before it (whose pixels it writes again, the same). */
static unsigned tile_x(unsigned i)
{
    return i * PANEL_TILE + PANEL_TILE <= PRINTER_FACE_WIDTH ? i * PANEL_TILE
                                                             : PRINTER_FACE_WIDTH - PANEL_TILE;
}

#define PANEL_TILES_X ((PRINTER_FACE_WIDTH + PANEL_TILE - 1) / PANEL_TILE)

/* Pass one over a band: each face row read in order (the prefetcher's favourite), deinterleaved and
 * masked into the band's planes. */
static void band_fill(const struct printer_raster *r, unsigned y0, unsigned rows, struct panel_band *band)
{
    const __m128i zero = _mm_setzero_si128(), one = _mm_set1_epi8(1);

    for (unsigned row = 0; row < rows; row++) {
        unsigned y = y0 + row, slot = PANEL_TURN_CLOCKWISE ? rows - 1 - row : row;
        const uint8_t *rgb = r->rgb + (size_t)y * PRINTER_FACE_WIDTH * 3,
                      *km = r->kmask + (size_t)y * PRINTER_FACE_WIDTH;

        for (unsigned i = 0; i < PANEL_TILES_X; i++) {
            unsigned x = tile_x(i);
            __m128i red, green, blue;
            /* keep: 0xff where the pixel is not resin */
            __m128i keep = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(km + x)), zero);

            deinterleave_rgb(rgb + 3 * x, &red, &green, &blue);
            if (!PANEL_DYE_HIGH_IS_INK) {
                red = _mm_xor_si128(red, _mm_cmpeq_epi8(zero, zero));
                green = _mm_xor_si128(green, _mm_cmpeq_epi8(zero, zero));
                blue = _mm_xor_si128(blue, _mm_cmpeq_epi8(zero, zero));
            }
            /* dye = 255 - channel where kept, 0 under resin */
            _mm_storeu_si128((__m128i *)(void *)&band->plane[0][slot][x], _mm_andnot_si128(blue, keep));
            _mm_storeu_si128((__m128i *)(void *)&band->plane[1][slot][x], _mm_andnot_si128(green, keep));
            _mm_storeu_si128((__m128i *)(void *)&band->plane[2][slot][x], _mm_andnot_si128(red, keep));
            _mm_storeu_si128((__m128i *)(void *)&band->plane[3][slot][x], _mm_andnot_si128(keep, one));
        }
    }
}

/* Pass two: 8 rows by 16 columns of the band at a time turned and written as runs of 8 dots of 16 panel
 * lines; a band's column of them fills a run of `rows` dots of each line. */
static void band_store(const struct panel_band *band, unsigned y0, unsigned rows, struct printer_panels *p)
{
    uint8_t *planes[4] = {p->y, p->m, p->c, p->k};
    unsigned dot0 = PANEL_TURN_CLOCKWISE ? PANEL_DOT(y0 + rows - 1) : y0;

    /* groups of 8 band rows in turn: the rows are read as 8 streams in order */
    for (int plane = 0; plane < 4; plane++)
        for (unsigned t = 0; t < rows; t += 8)
            for (unsigned i = 0; i < PANEL_TILES_X; i++) {
                unsigned x0 = tile_x(i);
                uint8_t *line = planes[plane] + (size_t)PANEL_LINE(x0) * PRINTER_PANEL_DOTS + dot0 + t;
                const ptrdiff_t next = PANEL_TURN_CLOCKWISE ? PRINTER_PANEL_DOTS : -PRINTER_PANEL_DOTS;
                __m128i in[8], out[8];

#pragma GCC unroll 8
                for (unsigned row = 0; row < 8; row++)
                    in[row] =
                        _mm_loadu_si128((const __m128i *)(const void *)&band->plane[plane][t + row][x0]);
                transpose8x16(in, out);
#pragma GCC unroll 8
                for (unsigned j = 0; j < 8; j++) {
                    _mm_storel_epi64((__m128i *)(void *)(line + (ptrdiff_t)(2 * j) * next), out[j]);
                    _mm_storeh_pd((double *)(void *)(line + (ptrdiff_t)(2 * j + 1) * next),
                                  _mm_castsi128_pd(out[j]));
                }
            }
}
#endif

static int split_ymck(const struct printer_raster *r, struct printer_panels *p)
{
#if defined(__SSE2__)
    struct panel_band *band = malloc(sizeof(*band));

    if (!band)
        return PRINTER_ERROR_NOMEM;
    for (unsigned y = 0; y < PRINTER_FACE_HEIGHT; y += PANEL_BAND) {
        unsigned rows = PRINTER_FACE_HEIGHT - y < PANEL_BAND ? PRINTER_FACE_HEIGHT - y : PANEL_BAND;
        /* whole tiles: a last band of a few rows starts earlier, overlapping the band before it */
        unsigned whole = (rows + PANEL_TILE - 1) / PANEL_TILE * PANEL_TILE;

        band_fill(r, y + rows - whole, whole, band);
        band_store(band, y + rows - whole, whole, p);
    }
    free(band);
#else
    split_rect(r, 0, PRINTER_FACE_WIDTH, 0, PRINTER_FACE_HEIGHT, p);
#endif
    return 0;
}

/* Overlay everywhere but the keep-out rectangle, which is a run of dots on each of its lines. */
static void split_overlay(const struct printer_keepout *keepout, uint8_t *o)
{
    memset(o, 1, PRINTER_PANEL_PIXELS);
    if (!keepout || keepout->w == 0 || keepout->h == 0)
        return;
    for (unsigned x = keepout->x; x < keepout->x + keepout->w; x++) {
        unsigned first = PANEL_TURN_CLOCKWISE ? PANEL_DOT(keepout->y + keepout->h - 1) : keepout->y;

        memset(o + (size_t)PANEL_LINE(x) * PRINTER_PANEL_DOTS + first, 0, keepout->h);
    }
}

int printer_panels_split(const struct printer_raster *r, const struct printer_keepout *keepout,
                         struct printer_panels **ret)
{
    struct printer_panels *p;

    if (!r || !ret || !r->rgb || !r->kmask || r->width != PRINTER_FACE_WIDTH ||
        r->height != PRINTER_FACE_HEIGHT)
        return PRINTER_ERROR_INVALID;
    if (keepout &&
        (keepout->x > PRINTER_FACE_WIDTH || keepout->y > PRINTER_FACE_HEIGHT ||
         keepout->w > PRINTER_FACE_WIDTH - keepout->x || keepout->h > PRINTER_FACE_HEIGHT - keepout->y))
        return PRINTER_ERROR_INVALID;
    p = calloc(1, sizeof(*p));
    if (!p)
        return PRINTER_ERROR_NOMEM;
    p->y = malloc(PRINTER_PANEL_PIXELS);
    p->m = malloc(PRINTER_PANEL_PIXELS);
    p->c = malloc(PRINTER_PANEL_PIXELS);
    p->k = malloc(PRINTER_PANEL_PIXELS);
    p->o = malloc(PRINTER_PANEL_PIXELS);
    if (!p->y || !p->m || !p->c || !p->k || !p->o) {
        printer_panels_free(p);
        return PRINTER_ERROR_NOMEM;
    }
    if (split_ymck(r, p) < 0) {
        printer_panels_free(p);
        return PRINTER_ERROR_NOMEM;
    }
    split_overlay(keepout, p->o);
    *ret = p;
    return 0;
}

size_t printer_packed_size(size_t n, unsigned bits)
{
    return (n * bits + 7) / 8;
}

/* Eight samples of 0..(1 << bits) - 1 in the bytes of v (first sample lowest) to their 8 * bits bits,
 * first sample most significant: neighbours merge pairwise in three rounds. */
static uint64_t merge8(uint64_t v, unsigned bits)
{
    v = (v & 0x00ff00ff00ff00ffu) << bits | (v >> 8 & 0x00ff00ff00ff00ffu);
    v = (v & 0x0000ffff0000ffffu) << (2 * bits) | (v >> 16 & 0x0000ffff0000ffffu);
    return (v & 0xffffffffu) << (4 * bits) | v >> 32;
}

/* Eight bytes as one integer, the first byte lowest; and eight bytes from one, the highest first. memcpy and
 * the byte swap compile to one load or store. */
static uint64_t load64le(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static void store64be(uint64_t v, uint8_t *p)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, sizeof(v));
}

/* Stores the low 8 * bits bits of v big-endian: `bits` bytes; with room writes all 8 bytes (the bytes past
 * `bits` are garbage for the caller to overwrite). */
static void store_be(uint64_t v, unsigned bits, bool room, uint8_t *out)
{
    if (room) {
        store64be(v << (64 - 8 * bits), out);
        return;
    }
    for (unsigned i = 0; i < bits; i++)
        out[i] = (uint8_t)(v >> (8 * (bits - 1 - i)));
}

/* Packs n flags MSB first, a flag set where its byte has any bit of mask, into printer_packed_size(n, 1)
 * bytes. */
static void pack_bits(const uint8_t *flags, size_t n, uint8_t mask, uint8_t *out)
{
    size_t full = n / 8, b = 0;

#if defined(__SSE2__)
    /* 16 flags at a time: reverse the bytes of each half so that movemask's lowest bit is the last flag
     * of the half, then the mask's two bytes are the two output bytes */
    const __m128i bits = _mm_set1_epi8((char)mask);

    for (; b + 2 <= full; b += 2) {
        __m128i v = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(flags + b * 8)), bits);
        unsigned set;

        v = _mm_shufflehi_epi16(_mm_shufflelo_epi16(v, 0x1b), 0x1b);
        v = _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
        set = ~(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
        out[b] = (uint8_t)set;
        out[b + 1] = (uint8_t)(set >> 8);
    }
#endif
    for (; b < full; b++) {
        uint64_t v = load64le(flags + b * 8) & 0x0101010101010101u * mask;

        /* any bit of a byte down to its lowest bit, then one per byte gathered by a multiply that
         * puts byte i's bit at 63 - i without carries */
        v |= v >> 4;
        v |= v >> 2;
        v |= v >> 1;
        v &= 0x0101010101010101u;
        out[b] = (uint8_t)((v * 0x8040201008040201u) >> 56);
    }
    if (n % 8) {
        uint8_t last = 0;

        for (size_t i = 0; i < n % 8; i++)
            last |= (uint8_t)(((flags[full * 8 + i] & mask) != 0) << (7 - i));
        out[full] = last;
    }
}

void printer_pack_1bpp(const uint8_t *flags, size_t n, uint8_t *out)
{
    pack_bits(flags, n, 0xff, out);
}

/* Packs the whole groups of 8 samples of levels[0..n) (`bits` bytes each) and returns how many samples
 * that was. Inlined once per bit depth, so that every shift is a constant. */
static inline __attribute__((always_inline)) size_t pack_groups(const uint8_t *levels, size_t n,
                                                                unsigned bits, uint8_t *out)
{
    const uint64_t top = 0x0101010101010101u * ((0xffu << (8 - bits)) & 0xffu);
    const size_t size = printer_packed_size(n, bits);
    size_t i = 0, o = 0;

#if defined(__SSE2__)
    /* two groups at a time: merge8() in both 64-bit halves of a register */
    const __m128i top16 = _mm_set1_epi8((char)(0xffu << (8 - bits))), low8 = _mm_set1_epi16(0x00ff),
                  pair16 = _mm_set1_epi32((int)(1u << (2 * bits) | 1u << 16)),
                  shift32 = _mm_set_epi32(0, (int)(1u << (4 * bits)), 0, (int)(1u << (4 * bits)));

    /* while both 8-byte stores have room; the last groups go through the careful loop below */
    for (; i + 16 <= n && o + 2 * bits + 8 <= size; i += 16, o += 2 * bits) {
        __m128i v = _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)(levels + i)), top16);
        uint64_t halves[2];

        v = _mm_srli_epi16(v, (int)(8 - bits));
        v = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, low8), (int)bits), _mm_srli_epi16(v, 8));
        /* pairs of 2 * bits-bit values: the first times 2^(2 * bits) plus the second, one multiply-add */
        v = _mm_madd_epi16(v, pair16);
        /* pairs of 4 * bits-bit values: the first (low half) times 2^(4 * bits), plus the second */
        v = _mm_add_epi64(_mm_mul_epu32(v, shift32), _mm_srli_epi64(v, 32));
        _mm_storeu_si128((__m128i *)(void *)halves, v);
        store_be(halves[0], bits, true, out + o);
        store_be(halves[1], bits, true, out + o + bits);
    }
#endif
    for (; i + 8 <= n; i += 8, o += bits)
        store_be(merge8((load64le(levels + i) & top) >> (8 - bits), bits), bits, o + 8 <= size, out + o);
    return i;
}

void printer_pack_levels(const uint8_t *levels, size_t n, unsigned bits, uint8_t *out)
{
    uint32_t acc = 0; /* at most 7 pending bits + 8 new ones */
    unsigned have = 0;
    size_t o, i;

    switch (bits) {
    case 1:
        i = pack_groups(levels, n, 1, out);
        break;
    case 2:
        i = pack_groups(levels, n, 2, out);
        break;
    case 3:
        i = pack_groups(levels, n, 3, out);
        break;
    case 4:
        i = pack_groups(levels, n, 4, out);
        break;
    case 5:
        i = pack_groups(levels, n, 5, out);
        break;
    case 6:
        i = pack_groups(levels, n, 6, out);
        break;
    case 7:
        i = pack_groups(levels, n, 7, out);
        break;
    case 8:
        memcpy(out, levels, n);
        return;
    default:
        i = 0;
        break;
    }
    /* the rest one sample at a time */
    for (o = i / 8 * bits; i < n; i++) {
        acc = acc << bits | (uint32_t)(levels[i] >> (8 - bits));
        have += bits;
        if (have >= 8) {
            have -= 8;
            out[o++] = (uint8_t)(acc >> have);
            acc &= (1u << have) - 1;
        }
    }
    if (have)
        out[o] = (uint8_t)(acc << (8 - have));
}

/* Where image pixel p of a Magicard row goes: byte and mask in a plane row. */
struct magicard_dot {
    uint16_t byte;
    uint8_t mask;
};

static void magicard_dots(bool kge, unsigned margin, struct magicard_dot *dots)
{
    for (unsigned p = 0; p < PRINTER_MAGICARD_WIDTH; p++) {
        if (kge) {
            unsigned a = margin + p, word, bit;

            if (a < 288) {
                word = 6 + a / 16;
                bit = 2 * (a % 16);
            } else {
                word = (a - 288) / 16;
                bit = 2 * ((a - 288) % 16) + 1;
            }
            dots[p].byte = (uint16_t)(4 * word + bit / 8);
            dots[p].mask = (uint8_t)(0x80u >> (bit % 8));
        } else {
            unsigned n = margin + 1 + p;

            /* past the last head dot (margin 30): the vendor's test drops it */
            dots[p].byte = (uint16_t)(n < PRINTER_MAGICARD_HEAD_DOTS ? n / 8 : 0);
            dots[p].mask = (uint8_t)(n < PRINTER_MAGICARD_HEAD_DOTS ? 0x80u >> (n % 8) : 0);
        }
    }
}

size_t printer_pack_magicard_dye(const uint8_t *levels, bool kge, unsigned margin, uint8_t *out)
{
    const size_t row = kge ? PRINTER_MAGICARD_KGE_ROW : PRINTER_MAGICARD_KEE_ROW,
                 row_size = row * PRINTER_MAGICARD_BITS, total = row_size * PRINTER_PANEL_LINES;
    struct magicard_dot dots[PRINTER_MAGICARD_WIDTH];

    magicard_dots(kge, margin, dots);
    memset(out, 0, total);
    for (unsigned line = 0; line < PRINTER_PANEL_LINES; line++) {
        const uint8_t *src = levels + (size_t)line * PRINTER_PANEL_DOTS + PRINTER_MAGICARD_FIRST_DOT;
        uint8_t *dst = out + (size_t)line * row_size;

        for (unsigned p = 0; p < PRINTER_MAGICARD_WIDTH; p++) {
            unsigned v = src[p] >> (8 - PRINTER_MAGICARD_BITS);

            for (unsigned plane = 0; v && plane < PRINTER_MAGICARD_BITS; plane++, v >>= 1)
                if (v & 1)
                    dst[plane * row + dots[p].byte] |= dots[p].mask;
        }
    }
    return total;
}

size_t printer_pack_magicard_k(const uint8_t *flags, bool kge, unsigned margin, uint8_t *out)
{
    const size_t row = kge ? PRINTER_MAGICARD_KGE_ROW : PRINTER_MAGICARD_KEE_ROW,
                 total = row * PRINTER_PANEL_LINES;
    struct magicard_dot dots[PRINTER_MAGICARD_WIDTH];

    magicard_dots(kge, margin, dots);
    memset(out, 0, total);
    for (unsigned line = 0; line < PRINTER_PANEL_LINES; line++) {
        const uint8_t *src = flags + (size_t)line * PRINTER_PANEL_DOTS + PRINTER_MAGICARD_FIRST_DOT;
        uint8_t *dst = out + (size_t)line * row;

        for (unsigned p = 0; p < PRINTER_MAGICARD_WIDTH; p++)
            if (src[p])
                dst[dots[p].byte] |= dots[p].mask;
    }
    return total;
}
