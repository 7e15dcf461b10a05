// The BM3D stage kernels for baseline x86-64 (see stage_kernels.inl).
#include "bm3d/bm3d_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "bm3d/stage_kernels.inl"
#undef IMGEN_SIMD_NS
