// The transform kernel compiled with AVX2/FMA (see CMakeLists.txt); chosen at run time.
#define IMGEN_SIMD_NS avx2
#include "wavelet/dwt_kernels.inl"
#undef IMGEN_SIMD_NS
