// Internal: what the per-SIMD-level stage kernels (stage_kernels.inl) share with the driver.
#pragma once

#include <cstdint>

namespace imgen::bm3d::detail {

// One stage over planar float images (0-255 scale) of height x width pixels, rows `width` apart.
// Every plane is readable for max(kPlanePad, half_window + 24) floats before and after it (vector
// loops may over-read).
struct StageJob {
  int64_t height = 0;
  int64_t width = 0;
  int channels = 1;
  const float* match = nullptr;        // the plane blocks are matched on (luminance)
  const float* noisy[3] = {};          // the planes filtered
  const float* pilot[3] = {};          // Wiener stage: the basic estimate; null in stage 1
  float* num[3] = {};                  // aggregation: sum of weight * window * estimate
  float* den[3] = {};                  // aggregation: sum of weight * window
  float sigma[3] = {};                 // noise standard deviation per channel
  float wiener_s2[3] = {};             // stage 2: mu2 * sigma^2 per channel (> 0)
  float threshold[3] = {};             // stage 1: hard threshold per channel
  bool wiener = false;
  int block = 8;                       // N
  int half_window = 19;                // search offsets -half_window..half_window
  int max_blocks = 16;                 // K, a power of two
  float tau_ssd = 0;                   // largest sum of squared differences of a match
  const float* fwd = nullptr;          // N x N forward 2-D transform matrix M
  const float* fwd_t = nullptr;        // M^T
  const float* inv = nullptr;          // M^-1
  const float* inv_t = nullptr;        // (M^-1)^T
  const float* window = nullptr;       // N x N Kaiser window
  // Exact variances (Makinen, Azzari, Foi 2020): the noise of overlapping blocks in a group is
  // correlated, so a 3-D coefficient's variance is not sigma^2.  autocorr: (2N-1)^2 x N^2, the
  // autocorrelation of each 2-D basis function at the shifts (dy, dx) in -(N-1)..N-1 (row
  // (dy + N - 1) * (2N - 1) + dx + N - 1); haar: the Haar matrices along the group for g = 1, 2,
  // 4, ..., K, g x g (coefficient x block) at offset (g^2 - 1) / 3.
  const float* autocorr = nullptr;
  const float* haar = nullptr;
  const int64_t* ref_rows = nullptr;   // top rows of the reference blocks, ascending
  const int64_t* ref_cols = nullptr;   // left columns of the reference blocks, ascending
};

inline constexpr int64_t kPlanePad = 64;

// A rectangle of reference blocks: ref_rows[row_begin, row_end) x ref_cols[col_begin, col_end).
struct Tile {
  int64_t row_begin, row_end, col_begin, col_end;
};

// Per-task scratch, sized by scratch_floats()/scratch_ints() for the largest tile.
struct Scratch {
  float* dist;      // ncols x K match distances, ascending per reference
  int64_t* pos;     // ncols x K match offsets (y * width + x)
  int32_t* count;   // ncols: matches found
  float* limit;     // distance a new match must beat: per reference (AVX2), else per pixel of
                    // the tile's span (+16)
  int32_t* ref_at;  // per pixel of the tile's span: the reference block starting there
  float* diff;      // column sums of squared differences over a tile row, x 8 (+ padding)
  float* group;     // K x N^2: the group being filtered
  float* group2;    // K x N^2 (Wiener: the pilot's group)
  float* block;     // N^2 x 2: a block, and the weighted window
  float* var;       // K x N^2: the group's coefficient variances, in units of sigma^2
};

}  // namespace imgen::bm3d::detail

#define IMGEN_DECLARE_BM3D_KERNELS(ns)                                                       \
  namespace imgen::bm3d::ns {                                                                \
  void process_tile(const detail::StageJob& job, const detail::Tile& tile,                   \
                    const detail::Scratch& s);                                               \
  void transform_blocks(const float* m, const float* m_t, int n, const float* src, float* dst, \
                        int64_t count);                                                      \
  void haar_group(float* data, int count, int len, bool inverse);                                           \
  }

IMGEN_DECLARE_BM3D_KERNELS(baseline)
IMGEN_DECLARE_BM3D_KERNELS(avx2)
