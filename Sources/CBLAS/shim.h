// OpenBLAS CBLAS (Debian: libopenblas-dev; cblas.h lives under include/<triplet>/openblas-pthread,
// which pkg-config openblas adds to the include path).
#if !__has_include(<cblas.h>)
#error "cblas.h not found: install the Debian package libopenblas-dev (Scripts/setup does this)"
#endif
#include <cblas.h>
