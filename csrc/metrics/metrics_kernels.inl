// Row kernels for metrics.cpp.  This file is included by metrics.cpp (baseline x86-64) and by
// metrics_avx2.cpp (compiled with -mavx2 -mfma -mf16c) with IMGEN_SIMD_NS naming the namespace,
// so each SIMD level gets its own copy with no shared inline symbols.  The loops are written for
// the auto-vectoriser: the channel count and the 11 taps are compile-time constants, pointers are
// restrict, and the per-sample work has no branches.
//
// Only plain C++ here: no std templates whose out-of-line copies could leak between SIMD levels
// (scratch memory comes from the caller).

#ifndef IMGEN_SIMD_NS
#error "define IMGEN_SIMD_NS before including metrics_kernels.inl"
#endif

namespace imgen::IMGEN_SIMD_NS {
namespace {

using metrics_detail::MseJob;
using metrics_detail::SsimJob;
using metrics_detail::SsimScratch;

// a * b + c, fused where the target has FMA (a libm call otherwise, so not used there).
inline double madd(double a, double b, double c) {
#if defined(__FMA__)
  return __builtin_fma(a, b, c);
#else
  return a * b + c;
#endif
}

template <class T>
inline const T* row_of(const ImageView& v, int64_t y) {
  return static_cast<const T*>(v.data) + y * v.row_stride;
}

// Sum of (a[i] - b[i])^2: exact integer arithmetic for u8/u16, four double partial sums for f32.
template <class T>
double row_sq_diff(const T* __restrict a, const T* __restrict b, int64_t n) {
  if constexpr (sizeof(T) == 1) {
    uint64_t s = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t d = static_cast<int32_t>(a[i]) - static_cast<int32_t>(b[i]);
      s += static_cast<uint32_t>(d * d);
    }
    return static_cast<double>(s);
  } else if constexpr (sizeof(T) == 2) {
    uint64_t s = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t d = static_cast<int64_t>(a[i]) - static_cast<int64_t>(b[i]);
      s += static_cast<uint64_t>(d * d);
    }
    return static_cast<double>(s);
  } else {
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      for (int l = 0; l < 4; ++l) {
        const double d = static_cast<double>(a[i + l]) - static_cast<double>(b[i + l]);
        acc[l] = madd(d, d, acc[l]);
      }
    }
    for (; i < n; ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      acc[0] = madd(d, d, acc[0]);
    }
    return (acc[0] + acc[1]) + (acc[2] + acc[3]);
  }
}

template <class T>
void mse_rows_t(const MseJob& job, int64_t begin, int64_t end) {
  const int64_t n = job.a.width * job.a.channels;
  for (int64_t y = begin; y < end; ++y)
    job.row_sums[y] = row_sq_diff(row_of<T>(job.a, y), row_of<T>(job.b, y), n);
}

// Vertical pass: the Gaussian-weighted sums of x, y, x^2, y^2 and xy down the kSsimTaps rows
// xr[k] / yr[k], for every sample of the row.  The rows are float (exact for u8/u16 pixels): with
// u8 rows the vectoriser works on 16-32 samples at a time, and the ten accumulators spill.
void ssim_vertical(const float* const* xr, const float* const* yr, int64_t n, const double* wt,
                   double* __restrict mx, double* __restrict my, double* __restrict mxx,
                   double* __restrict myy, double* __restrict mxy) {
  for (int64_t j = 0; j < n; ++j) {
    double sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0;
#pragma GCC unroll 11
    for (int k = 0; k < kSsimTaps; ++k) {
      const double x = static_cast<double>(xr[k][j]);
      const double y = static_cast<double>(yr[k][j]);
      const double wx = wt[k] * x, wy = wt[k] * y;
      sx += wx;
      sy += wy;
      sxx = madd(wx, x, sxx);
      syy = madd(wy, y, syy);
      sxy = madd(wx, y, sxy);
    }
    mx[j] = sx;
    my[j] = sy;
    mxx[j] = sxx;
    myy[j] = syy;
    mxy[j] = sxy;
  }
}

// Horizontal pass of one map: out[j] = sum_k wt[k] in[j + k C] for the m samples of the cropped
// row, folding the symmetric taps.  One map per loop keeps few vectors live, so the loads that
// neighbouring j share stay in registers instead of spilling (as a five-map loop does).
template <int C>
void ssim_horizontal(const double* __restrict in, int64_t m, const double* wt,
                     double* __restrict out) {
  for (int64_t j = 0; j < m; ++j) {
    double u = wt[kSsimRadius] * in[j + kSsimRadius * C];
#pragma GCC unroll 5
    for (int k = 0; k < kSsimRadius; ++k)
      u = madd(wt[k], in[j + k * C] + in[j + (kSsimTaps - 1 - k) * C], u);
    out[j] = u;
  }
}

// The SSIM map from the filtered moments:
//   S = (2 ux uy + C1)(2 vxy + C2) / ((ux^2 + uy^2 + C1)(vx + vy + C2))
// with the denominator's factors written as the numerator's plus the squared difference of the
// means and the variance of x - y.  That is the same value, but exactly 1 for identical images
// whichever products the compiler fuses into FMAs (C++ contracts a * b + c by default).
void ssim_map(const double* __restrict ux, const double* __restrict uy,
              const double* __restrict uxx, const double* __restrict uyy,
              const double* __restrict uxy, int64_t m, double c1, double c2,
              double* __restrict s) {
  for (int64_t j = 0; j < m; ++j) {
    const double d = ux[j] - uy[j];
    const double vxy = uxy[j] - ux[j] * uy[j];
    const double var_diff = (uxx[j] + uyy[j] - 2.0 * uxy[j]) - d * d;  // vx + vy - 2 vxy
    const double a1 = 2.0 * ux[j] * uy[j] + c1;
    const double a2 = 2.0 * vxy + c2;
    const double b1 = a1 + d * d;
    const double b2 = a2 + var_diff;
    s[j] = (a1 * a2) / (b1 * b2);
  }
}

template <class T>
void to_float(const T* __restrict src, int64_t n, float* __restrict dst) {
  for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(src[j]);
}

template <int C, class T>
void ssim_rows_t(const SsimJob& job, int64_t begin, int64_t end, const SsimScratch& scratch) {
  constexpr bool kConvert = sizeof(T) < sizeof(float);
  const int64_t n = job.a.width * C;
  const int64_t m = (job.a.width - 2 * kSsimRadius) * C;
  double* vert[5];  // x, y, x^2, y^2, xy filtered down the columns
  double* hor[5];   // ... and then along the row
  for (int q = 0; q < 5; ++q) {
    vert[q] = scratch.moments + q * n;
    hor[q] = scratch.moments + 5 * n + q * m;
  }
  double* s = scratch.moments + 5 * n + 5 * m;
  double wt[kSsimTaps];
  for (int k = 0; k < kSsimTaps; ++k) wt[k] = job.weights[k];
  // Integer rows are converted to float once, into a ring of kSsimTaps rows per image: image row
  // r lives in slot r % kSsimTaps.  Float rows are read in place.
  const auto ring_row = [&](int img, int64_t r) {
    return scratch.rows + (img * kSsimTaps + r % kSsimTaps) * n;
  };
  if constexpr (kConvert) {
    for (int64_t r = begin; r < begin + kSsimTaps - 1; ++r) {
      to_float(row_of<T>(job.a, r), n, ring_row(0, r));
      to_float(row_of<T>(job.b, r), n, ring_row(1, r));
    }
  }
  for (int64_t i = begin; i < end; ++i) {
    // Output row i is image row i + kSsimRadius; image rows i .. i + kSsimTaps - 1 feed it.
    const float* xr[kSsimTaps];
    const float* yr[kSsimTaps];
    if constexpr (kConvert) {
      const int64_t r = i + kSsimTaps - 1;
      to_float(row_of<T>(job.a, r), n, ring_row(0, r));
      to_float(row_of<T>(job.b, r), n, ring_row(1, r));
      for (int k = 0; k < kSsimTaps; ++k) {
        xr[k] = ring_row(0, i + k);
        yr[k] = ring_row(1, i + k);
      }
    } else {
      for (int k = 0; k < kSsimTaps; ++k) {
        xr[k] = row_of<float>(job.a, i + k);
        yr[k] = row_of<float>(job.b, i + k);
      }
    }
    ssim_vertical(xr, yr, n, wt, vert[0], vert[1], vert[2], vert[3], vert[4]);
    for (int q = 0; q < 5; ++q) ssim_horizontal<C>(vert[q], m, wt, hor[q]);
    ssim_map(hor[0], hor[1], hor[2], hor[3], hor[4], m, job.c1, job.c2, s);
    for (int c = 0; c < C; ++c) {
      double sum = 0.0;
      for (int64_t j = c; j < m; j += C) sum += s[j];
      job.row_sums[i * C + c] = sum;
    }
  }
}

template <class T>
void run_ssim(const SsimJob& job, int64_t begin, int64_t end, const SsimScratch& scratch) {
  switch (job.a.channels) {
    case 1: return ssim_rows_t<1, T>(job, begin, end, scratch);
    case 3: return ssim_rows_t<3, T>(job, begin, end, scratch);
    default: return ssim_rows_t<4, T>(job, begin, end, scratch);
  }
}

}  // namespace

void mse_rows(const MseJob& job, int64_t begin, int64_t end) {
  switch (job.a.dtype) {
    case DType::u8: return mse_rows_t<uint8_t>(job, begin, end);
    case DType::u16: return mse_rows_t<uint16_t>(job, begin, end);
    default: return mse_rows_t<float>(job, begin, end);
  }
}

void ssim_rows(const SsimJob& job, int64_t begin, int64_t end, const SsimScratch& scratch) {
  switch (job.a.dtype) {
    case DType::u8: return run_ssim<uint8_t>(job, begin, end, scratch);
    case DType::u16: return run_ssim<uint16_t>(job, begin, end, scratch);
    default: return run_ssim<float>(job, begin, end, scratch);
  }
}

}  // namespace imgen::IMGEN_SIMD_NS
