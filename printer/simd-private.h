/* simd-private.h — SSE2 helpers shared by the face renderer and the panel splitter */
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>
#include <stdint.h>

/* Three registers of 16 packed RGB pixels to one register per channel (SSE2 has no byte shuffle: four
 * rounds of interleaving the low halves restore the order). */
static inline void deinterleave_rgb(const uint8_t *src, __m128i *ret_r, __m128i *ret_g, __m128i *ret_b)
{
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)src);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(src + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(src + 32));

#pragma GCC unroll 4
    for (int round = 0; round < 4; round++) {
        __m128i na = _mm_unpacklo_epi8(a, _mm_unpackhi_epi64(b, b));
        __m128i nb = _mm_unpacklo_epi8(_mm_unpackhi_epi64(a, a), c);
        __m128i nc = _mm_unpacklo_epi8(b, _mm_unpackhi_epi64(c, c));

        a = na;
        b = nb;
        c = nc;
    }
    *ret_r = a;
    *ret_g = b;
    *ret_b = c;
}

#endif
