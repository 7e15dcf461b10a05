// The YUV row kernels compiled with AVX2/FMA/F16C (see CMakeLists.txt); chosen at run time.
#include "preprocess/yuv_impl.hpp"

#define IMGEN_SIMD_NS avx2
#include "preprocess/yuv_kernels.inl"
#undef IMGEN_SIMD_NS
