// Column quads for one-channel layers (column_quads.h): where they fit, the column-quad copy of the
// padded input, and the weights packed in the quads' group order.
#include "column_quads.h"
#if CNNS_X86
#include <immintrin.h>
#endif
#include <string.h>

int cnns_qconv_quads_fits(const cnns_conv_shape *s) {
    return s->c == 1 && s->r >= 4 && cnns_quads_groups(s) < s->r * cnns_direct_groups_per_row(s) &&
           cnns_qconv_pooled_small_fits(s);
}

int cnns_qconv_quads_groups(const cnns_conv_shape *s) { return cnns_quads_groups(s); }

int64_t cnns_qconv_quads_packed_size(const cnns_conv_shape *s) {
    return cnns_qgemm_packed_size(s->k, 4 * cnns_quads_groups(s));
}

// Group g's 4 byte rows of [4·groups, K] take taps (4b + t, column) for a vertical group, (row,
// 4h + t) for a row's group (zero past the row's S taps).
void cnns_qconv_quads_pack(const cnns_conv_shape *s, const int8_t *w, int8_t *packed, int8_t *scratch) {
    const int kv = cnns_quads_vertical(s), G = cnns_direct_groups_per_row(s), kg = cnns_quads_groups(s), K = s->k;
    memset(scratch, 0, (size_t)4 * kg * K);
    for (int g = 0; g < kg; g++)
        for (int t = 0; t < 4; t++) {
            int r, c;
            if (g < kv) r = 4 * (g / s->s) + t, c = g % s->s;
            else r = s->r / 4 * 4 + (g - kv) / G, c = 4 * ((g - kv) % G) + t;
            if (c < s->s) memcpy(scratch + (long)(4 * g + t) * K, w + ((long)r * s->s + c) * K, (size_t)K);
        }
    cnns_qgemm_pack_b(K, 4 * kg, scratch, K, packed);
}

// Rows row0..<row0+rows of the padded input (flattened image, row; hp rows an image, wp pixels of one
// byte) -> the same rows of the quad copy: out[(row·wp + x)·4 + i] = xp[(row + i)·wp + x] while row + i
// stays in the image, else 0 (no kernel reads those).
void cnns_qconv_column_quads(const uint8_t *xp, int hp, int wp, long row0, long rows, uint8_t *out) {
    for (long row = row0; row < row0 + rows; row++) {
        const int y = (int)(row % hp), valid = hp - y < 4 ? hp - y : 4;
        const uint8_t *src[4];
        for (int i = 0; i < 4; i++) src[i] = i < valid ? xp + (row + i) * wp : NULL;
        uint8_t *dst = out + row * wp * 4;
        int x = 0;
#if CNNS_X86
        // Four rows of 16 bytes (rows past the image as zeros) interleaved into 64: bytes (a, b) then
        // (ab, cd) pairs.
        for (; x + 16 <= wp; x += 16) {
            __m128i v[4];
            for (int i = 0; i < 4; i++)
                v[i] = src[i] ? _mm_loadu_si128((const __m128i *)(src[i] + x)) : _mm_setzero_si128();
            const __m128i ab0 = _mm_unpacklo_epi8(v[0], v[1]), ab1 = _mm_unpackhi_epi8(v[0], v[1]);
            const __m128i cd0 = _mm_unpacklo_epi8(v[2], v[3]), cd1 = _mm_unpackhi_epi8(v[2], v[3]);
            _mm_storeu_si128((__m128i *)(dst + 4 * x), _mm_unpacklo_epi16(ab0, cd0));
            _mm_storeu_si128((__m128i *)(dst + 4 * x + 16), _mm_unpackhi_epi16(ab0, cd0));
            _mm_storeu_si128((__m128i *)(dst + 4 * x + 32), _mm_unpacklo_epi16(ab1, cd1));
            _mm_storeu_si128((__m128i *)(dst + 4 * x + 48), _mm_unpackhi_epi16(ab1, cd1));
        }
#endif
        for (; x < wp; x++)
            for (int i = 0; i < 4; i++) dst[4 * x + i] = src[i] ? src[i][x] : 0;
    }
}
