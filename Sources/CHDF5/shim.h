// HDF5 C library (Debian: libhdf5-dev), for Keras weight files.
#if !__has_include(<hdf5.h>)
#error "hdf5.h not found: install the Debian package libhdf5-dev (Scripts/setup does this)"
#endif
#include <hdf5.h>

// HDF5's type and property identifiers are macros that call H5open() first; Swift cannot
// import them, so these give their values.
static inline hid_t cnns_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t cnns_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t cnns_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t cnns_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t cnns_h5s_all(void) { return H5S_ALL; }
static inline unsigned cnns_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned cnns_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline size_t cnns_h5t_variable(void) { return H5T_VARIABLE; }
// Silences HDF5's own error-stack printing: errors come back as typed Swift errors instead.
static inline void cnns_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
