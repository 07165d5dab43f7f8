#define _GNU_SOURCE
#include "cnns_perf.h"
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stddef.h>

_Static_assert(sizeof(struct perf_event_attr) >= PERF_ATTR_SIZE_VER5, "perf_event_attr older than VER5");
_Static_assert(offsetof(struct perf_event_attr, config) == 8, "perf_event_attr layout changed");

int cnns_perf_event_open(void *attr, pid_t pid, int cpu, int group_fd, unsigned long flags) {
    return (int)syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}
int cnns_perf_ioc_enable(int fd, int group) {
    return ioctl(fd, PERF_EVENT_IOC_ENABLE, group ? PERF_IOC_FLAG_GROUP : 0);
}
int cnns_perf_ioc_disable(int fd, int group) {
    return ioctl(fd, PERF_EVENT_IOC_DISABLE, group ? PERF_IOC_FLAG_GROUP : 0);
}
int cnns_perf_ioc_reset(int fd, int group) { return ioctl(fd, PERF_EVENT_IOC_RESET, group ? PERF_IOC_FLAG_GROUP : 0); }
int cnns_perf_ioc_id(int fd, uint64_t *id) { return ioctl(fd, PERF_EVENT_IOC_ID, id); }
pid_t cnns_gettid(void) { return (pid_t)syscall(SYS_gettid); }
uint32_t cnns_perf_attr_size(void) { return (uint32_t)sizeof(struct perf_event_attr); }
