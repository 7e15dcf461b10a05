// Internal: row kernels of metrics.cpp, compiled once per SIMD level (see metrics_kernels.inl).
#pragma once

#include <cstdint>

#include "common/image.hpp"
#include "metrics/metrics.hpp"

namespace imgen::metrics_detail {

// Squared differences of whole rows: row_sums[y] = sum over row y of (a - b)^2.
struct MseJob {
  ImageView a;
  ImageView b;
  double* row_sums;
};

// SSIM of the cropped image: output row i is image row i + kSsimRadius and covers the columns
// [kSsimRadius, width - kSsimRadius).  row_sums[i * channels + c] = sum of S over that row in
// channel c.
struct SsimJob {
  ImageView a;
  ImageView b;
  double weights[kSsimTaps];
  double c1;
  double c2;
  double* row_sums;
};

// Per-call working memory of ssim_rows, from the caller (one per concurrent call):
//   moments: 5 rows of vertical sums, 5 cropped rows of filtered moments and a cropped row of S;
//   rows: a ring of kSsimTaps float rows per image (used for u8/u16 inputs only).
struct SsimScratch {
  double* moments;
  float* rows;
};

inline int64_t ssim_moments_size(int64_t width, int64_t channels) {
  return (5 * width + 6 * (width - 2 * kSsimRadius)) * channels;
}

inline int64_t ssim_rows_size(int64_t width, int64_t channels, DType dtype) {
  return dtype == DType::f32 ? 0 : 2 * kSsimTaps * width * channels;
}

}  // namespace imgen::metrics_detail

#define IMGEN_DECLARE_METRICS_KERNELS(ns)                                                  \
  namespace imgen::ns {                                                                    \
  void mse_rows(const metrics_detail::MseJob& job, int64_t begin, int64_t end);            \
  void ssim_rows(const metrics_detail::SsimJob& job, int64_t begin, int64_t end,           \
                 const metrics_detail::SsimScratch& scratch);                              \
  }

IMGEN_DECLARE_METRICS_KERNELS(baseline)
IMGEN_DECLARE_METRICS_KERNELS(avx2)
