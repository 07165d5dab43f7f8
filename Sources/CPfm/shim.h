// libpfm4 (Debian: libpfm4-dev; it ships no pkg-config file).
#if !__has_include(<perfmon/pfmlib_perf_event.h>)
#error "libpfm4 headers not found: install the Debian package libpfm4-dev (Scripts/setup does this)"
#endif
#include <perfmon/pfmlib_perf_event.h>
