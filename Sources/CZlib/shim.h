// zlib (Debian: zlib1g-dev).
#if !__has_include(<zlib.h>)
#error "zlib.h not found: install the Debian package zlib1g-dev (Scripts/setup does this)"
#endif
#include <zlib.h>
