// C for what Swift cannot call directly: the perf_event_open syscall and the
// PERF_EVENT_IOC_* ioctl requests (function-like macros Swift does not import).
// Every function returns the raw result (-1 on failure); errno is left for the caller.
#ifndef CNNS_PERF_H
#define CNNS_PERF_H
#include <stdint.h>
#include <sys/types.h>

/// perf_event_open(2): attr (a struct perf_event_attr, as libpfm4 encodes it; passed untyped so
/// Swift sees one definition of the struct, libpfm4's), pid (0 = this thread), cpu (-1 = any),
/// group_fd (-1 = leader), flags.
int cnns_perf_event_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags);
/// PERF_EVENT_IOC_ENABLE / DISABLE / RESET; `group` applies to the whole group (PERF_IOC_FLAG_GROUP).
int cnns_perf_ioc_enable(int fd, int group);
int cnns_perf_ioc_disable(int fd, int group);
int cnns_perf_ioc_reset(int fd, int group);
/// PERF_EVENT_IOC_ID: the kernel's id of the event behind fd.
int cnns_perf_ioc_id(int fd, uint64_t *id);
/// Current thread id (gettid), for per-thread counting.
pid_t cnns_gettid(void);
/// Size of the kernel header's struct perf_event_attr (Swift checks libpfm4's copy against it).
uint32_t cnns_perf_attr_size(void);
#endif
