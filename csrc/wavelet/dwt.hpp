// The 2-D discrete wavelet transform: one filter-bank engine for every wavelet in filters.hpp,
// with PyWavelets' "symmetric" boundary mode (half-sample symmetric extension, x[-1] = x[0]) and
// PyWavelets' coefficient layout, so results compare directly with pywt.wavedec2 / waverec2.
//
//   analysis   c[o] = sum_j dec[j] * x[2o + 1 - j],   o in [0, floor((n + F - 1) / 2))
//   synthesis  x[i] = sum_n rec_lo[i + F - 2 - 2n] a[n] + rec_hi[i + F - 2 - 2n] d[n]
//
// Both are computed in float32 as sums of rows/columns times taps (fir2 in dwt_impl.hpp), rows in
// parallel; every output value is computed by the same code whatever the thread count, so results
// do not depend on it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/thread_pool.hpp"
#include "wavelet/filters.hpp"

namespace imgen::wavelet {

// Longest filter the engine takes (coif5 has 30 taps).
inline constexpr int k_max_taps = 32;

// A 2-D array of floats: `height` rows of `width` values, rows `stride` floats apart.
struct Plane {
  float* data = nullptr;
  int64_t height = 0;
  int64_t width = 0;
  int64_t stride = 0;

  float* row(int64_t y) const { return data + y * stride; }
};

// The detail bands of one level, in PyWavelets' order (cH, cV, cD): high-pass along axis 0
// (rows) and low-pass along axis 1, low-pass along axis 0 and high-pass along axis 1, both high.
struct DetailBands {
  Plane h, v, d;
};

// Sum of squares of each detail band of one level (h, v, d), accumulated in double in a fixed
// order: BayesShrink's statistics, gathered while the transform writes the bands.
struct BandEnergy {
  double sumsq[3] = {0.0, 0.0, 0.0};
};

// A wavelet's taps in float, plus the polyphase orderings the kernels use.
struct FilterBank {
  explicit FilterBank(const Wavelet& w);
  int length = 0;
  std::vector<float> dec_lo, dec_hi;
  // Analysis along a row split into even/odd samples: taps for inputs E[o + 1..F/2], O[o + 0..F/2-1].
  std::vector<float> poly_lo, poly_hi;
  // Synthesis: taps for inputs a[p + 0..F/2-1], d[p + 0..F/2-1] giving x[2p] (even) and x[2p+1] (odd).
  std::vector<float> syn_even, syn_odd;
};

// pywt.dwt_coeff_len(n, F, "symmetric").
inline int64_t coeff_len(int64_t n, int filter_len) { return (n + filter_len - 1) / 2; }
// The length pywt.idwt returns from n coefficients per band: 2n - F + 2.
inline int64_t rec_len(int64_t n, int filter_len) { return 2 * n - filter_len + 2; }
// pywt.dwt_max_level(n, F): floor(log2(n / (F - 1))), 0 when n < F - 1.
int max_level(int64_t n, int filter_len);

// Maps any index onto [0, n) by half-sample symmetric extension (period 2n).
inline int64_t symmetric_index(int64_t i, int64_t n) {
  const int64_t p = 2 * n;
  int64_t m = i % p;
  if (m < 0) m += p;
  return m < n ? m : p - 1 - m;
}

// Coefficients of a multi-level decomposition in one owned buffer: the coarsest approximation and
// details[0] (finest, level 1) .. details[levels - 1] (coarsest).
class Pyramid {
 public:
  Pyramid(int64_t height, int64_t width, int filter_len, int levels);
  Pyramid(Pyramid&&) = default;
  Pyramid& operator=(Pyramid&&) = default;
  Pyramid(const Pyramid&) = delete;
  Pyramid& operator=(const Pyramid&) = delete;

  int levels() const { return static_cast<int>(details_.size()); }
  const Plane& approx() const { return approx_; }
  std::span<const DetailBands> details() const { return details_; }

 private:
  std::unique_ptr<float[]> storage_;
  Plane approx_;
  std::vector<DetailBands> details_;
};

// Multi-level analysis of src into approx and details (sizes as coeff_len gives them level by
// level; std::invalid_argument otherwise).  `energy`, when not empty, receives one BandEnergy per
// level.  pool may be null (run on the calling thread).
void dwt2(const Plane& src, const FilterBank& fb, const Plane& approx,
          std::span<const DetailBands> details, ThreadPool* pool,
          std::span<BandEnergy> energy = {});

// Multi-level synthesis, the inverse of dwt2.  Level l's output is as large as level l-1's bands
// (pywt.waverec2 trims the one extra sample the same way); the last level writes the window of
// dst's size starting at (origin_y, origin_x) of its output, which must fit inside
// rec_len(band) (std::invalid_argument otherwise).
void idwt2(const Plane& approx, std::span<const DetailBands> details, const FilterBank& fb,
           const Plane& dst, ThreadPool* pool, int64_t origin_y = 0, int64_t origin_x = 0);

// Which SIMD level the transform kernels run with on this CPU: "avx2" or "baseline".
const char* dwt_simd_level();

}  // namespace imgen::wavelet
