// Atomic words for the worker pool's hand-off (Swift 6.3 on Linux has no portable atomics in
// the standard library these modules use): loads with acquire, stores with release, a
// subtraction with acquire-release ordering, and the processor's spin-wait hint.
#ifndef CNNS_ATOMIC_H
#define CNNS_ATOMIC_H

long cnns_atomic_load(const long *p);
void cnns_atomic_store(long *p, long value);
/// *p -= value; returns the new value.
long cnns_atomic_sub(long *p, long value);
/// One spin-wait step: `pause` on x86, `yield` on aarch64.
void cnns_spin_pause(void);
#endif
