// The tile-blend row kernel compiled with AVX2/FMA/F16C (see CMakeLists.txt); chosen at run time.
#include "common/image.hpp"
#include "preprocess/blend_impl.hpp"

#define IMGEN_SIMD_NS avx2
#include "preprocess/blend_kernels.inl"
#undef IMGEN_SIMD_NS
