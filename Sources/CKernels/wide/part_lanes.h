// Partial vectors lane by lane, for the portable 16-lane builds (wide_on_avx2.c,
// winograd_tiles_w16.c): LOAD(p, n) is a vector T of floats with the first n from p and the rest
// 0; STORE(p, v, n) writes the first n lanes of v to p. Neither touches memory past the n floats;
// the compiler picks the instructions.
#define CNNS_PART_LANES(TARGET, T, LOAD, STORE)                                                              \
    TARGET static inline T LOAD(const float *p, int n) {                                                     \
        T v = {0};                                                                                           \
        for (int t = 0; t < n; t++) v[t] = p[t];                                                             \
        return v;                                                                                            \
    }                                                                                                        \
    TARGET static inline void STORE(float *p, T v, int n) {                                                  \
        for (int t = 0; t < n; t++) p[t] = v[t];                                                             \
    }
