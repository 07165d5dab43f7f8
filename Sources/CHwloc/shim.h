// hwloc (Debian: libhwloc-dev).
#if !__has_include(<hwloc.h>)
#error "hwloc headers not found: install the Debian package libhwloc-dev (Scripts/setup does this)"
#endif
#include <hwloc.h>
