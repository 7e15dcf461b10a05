// The BM3D stage kernels compiled with AVX2/FMA (see CMakeLists.txt); chosen at run time.
#include "bm3d/bm3d_impl.hpp"

#define IMGEN_SIMD_NS avx2
#define IMGEN_BM3D_FMA 1
#include "bm3d/stage_kernels.inl"
#undef IMGEN_BM3D_FMA
#undef IMGEN_SIMD_NS
