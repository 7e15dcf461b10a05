// Internal: the tile-blend row kernel of tiling.cpp, compiled once per SIMD level
// (blend_kernels.inl; baseline in tiling.cpp, AVX2 in blend_avx2.cpp).
#pragma once

#include <cstdint>

namespace imgen::blend_detail {

// One row of one tile: weights w = wy * wx[i] join the accumulated weights wsum, and each of
// `channels` mean rows takes its share of the tile row src[c] (float32, or float16 if half).
struct BlendRow {
  float* ratio;  // scratch, n floats
  float* wsum;
  const float* wx;
  float wy;
  int64_t n;
  int64_t channels;
  float* mean[4];
  const void* src[4];
  bool half;
};

}  // namespace imgen::blend_detail

namespace imgen::baseline {
void blend_tile_row(const blend_detail::BlendRow& row);
}
namespace imgen::avx2 {
void blend_tile_row(const blend_detail::BlendRow& row);
}
