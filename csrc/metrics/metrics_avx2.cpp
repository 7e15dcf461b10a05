// The metric row kernels compiled with AVX2/FMA/F16C (see CMakeLists.txt); chosen at run time.
#include "metrics/metrics_impl.hpp"

#define IMGEN_SIMD_NS avx2
#include "metrics/metrics_kernels.inl"
#undef IMGEN_SIMD_NS
