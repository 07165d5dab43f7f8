// Atomic words for the worker pool (see include/cnns_atomic.h).
#include "cnns_atomic.h"

long cnns_atomic_load(const long *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

void cnns_atomic_store(long *p, long value) { __atomic_store_n(p, value, __ATOMIC_RELEASE); }

long cnns_atomic_sub(long *p, long value) { return __atomic_sub_fetch(p, value, __ATOMIC_ACQ_REL); }

long cnns_atomic_load_seq_cst(const long *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

void cnns_atomic_store_seq_cst(long *p, long value) { __atomic_store_n(p, value, __ATOMIC_SEQ_CST); }

int cnns_atomic_cas(long *p, long expected, long desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

void cnns_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
