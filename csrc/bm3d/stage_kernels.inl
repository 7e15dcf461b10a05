// The BM3D stage kernels.  This file is included by stage_kernels.cpp (baseline x86-64) and by
// stage_kernels_avx2.cpp (compiled with -mavx2 -mfma -mf16c) with IMGEN_SIMD_NS naming the
// namespace, so each SIMD level gets its own copy.  Everything lives in an anonymous namespace
// and uses no std templates, so no out-of-line copy can leak from one SIMD level to the other.

#ifndef IMGEN_SIMD_NS
#error "define IMGEN_SIMD_NS before including stage_kernels.inl"
#endif
#ifndef IMGEN_BM3D_FMA
#define IMGEN_BM3D_FMA 0
#endif

#if defined(__AVX2__)
#include <immintrin.h>
#endif

// The 32-byte vector helpers of transform_kernels.inl are internal and always inlined, so the
// baseline level's different argument passing for them (GCC's -Wpsabi note) cannot matter.
// (GCC reports -Wpsabi after the end of the file, so the note stays off for the rest of it: the
// including .cpp files hold nothing else.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace imgen::bm3d::IMGEN_SIMD_NS {
namespace {

#include "bm3d/transform_kernels.inl"
#include "bm3d/block_matching.inl"
#include "bm3d/group_variance.inl"
#include "bm3d/hard_stage.inl"
#include "bm3d/wiener_stage.inl"

inline int floor_pow2(int n) {
  int p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

template <int N>
void process_tile_n(const detail::StageJob& job, const detail::Tile& tile,
                    const detail::Scratch& s) {
  const int ncols = static_cast<int>(tile.col_end - tile.col_begin);
  const int64_t* cols = job.ref_cols + tile.col_begin;
  const int K = job.max_blocks;
  for (int64_t ri = tile.row_begin; ri < tile.row_end; ++ri) {
    match_row<N>(job, job.ref_rows[ri], cols, ncols, s);
    for (int k = 0; k < ncols; ++k) {
      const int g = floor_pow2(s.count[k]);
      if (job.wiener)
        wiener_group<N>(job, s.pos + k * K, g, s);
      else
        hard_group<N>(job, s.pos + k * K, g, s);
    }
  }
}

template <int N>
void transform_blocks_n(const float* m, const float* m_t, const float* src, float* dst,
                        int64_t count) {
  for (int64_t b = 0; b < count; ++b) transform_2d<N>(src + b * N * N, N, m, m_t, dst + b * N * N);
}

}  // namespace

#define IMGEN_BM3D_SIZES(X) \
  X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)

void process_tile(const detail::StageJob& job, const detail::Tile& tile,
                  const detail::Scratch& s) {
  switch (job.block) {
#define IMGEN_CASE(n) \
  case n: process_tile_n<n>(job, tile, s); break;
    IMGEN_BM3D_SIZES(IMGEN_CASE)
#undef IMGEN_CASE
    default: break;  // validate() admits no other size
  }
}

void transform_blocks(const float* m, const float* m_t, int n, const float* src, float* dst,
                      int64_t count) {
  switch (n) {
#define IMGEN_CASE(k) \
  case k: transform_blocks_n<k>(m, m_t, src, dst, count); break;
    IMGEN_BM3D_SIZES(IMGEN_CASE)
#undef IMGEN_CASE
    default: break;
  }
}

#undef IMGEN_BM3D_SIZES

void haar_group(float* data, int count, int len, bool inverse) {
  if (inverse)
    haar_inverse(data, count, len);
  else
    haar_forward(data, count, len);
}

}  // namespace imgen::bm3d::IMGEN_SIMD_NS
