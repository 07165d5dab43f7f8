// Atomic words for the worker pool's hand-off (Swift 6.3 on Linux has no portable atomics in
// the standard library these modules use): loads with acquire, stores with release, a
// subtraction with acquire-release ordering, sequentially consistent loads, stores and
// compare-and-swap (for the read hand-off, where a store must not pass a later load), and the
// processor's spin-wait hint.
#ifndef CNNS_ATOMIC_H
#define CNNS_ATOMIC_H

long cnns_atomic_load(const long *p);
void cnns_atomic_store(long *p, long value);
/// *p -= value; returns the new value.
long cnns_atomic_sub(long *p, long value);
long cnns_atomic_load_seq_cst(const long *p);
void cnns_atomic_store_seq_cst(long *p, long value);
/// If *p == expected, *p = desired and returns 1; otherwise returns 0.
int cnns_atomic_cas(long *p, long expected, long desired);
/// One spin-wait step: `pause` on x86, `yield` on aarch64.
void cnns_spin_pause(void);
#endif
