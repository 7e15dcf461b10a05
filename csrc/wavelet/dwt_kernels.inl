// The transform's inner kernel, compiled once per SIMD level: include with IMGEN_SIMD_NS defined
// (dwt.cpp: baseline; dwt_avx2.cpp: avx2, built with -mavx2 -mfma).  Plain loops the compiler
// vectorises; no FMA contraction (ISO C++ mode), so both builds round alike.
#include <cstdint>

#include "wavelet/dwt_impl.hpp"

namespace imgen::wavelet::IMGEN_SIMD_NS {

void fir2(const float* const* src, const float* ca, const float* cb, int ntaps, float* outa,
          float* outb, int64_t n) {
  // Blocks of 32 outputs keep both accumulators in registers while the taps stream by.
  constexpr int64_t B = 32;
  int64_t x = 0;
  for (; x + B <= n; x += B) {
    float a[B], b[B];
    {
      const float* s = src[0] + x;
      const float fa = ca[0], fb = cb[0];
      for (int64_t i = 0; i < B; ++i) {
        a[i] = fa * s[i];
        b[i] = fb * s[i];
      }
    }
    for (int k = 1; k < ntaps; ++k) {
      const float* s = src[k] + x;
      const float fa = ca[k], fb = cb[k];
      for (int64_t i = 0; i < B; ++i) {
        a[i] += fa * s[i];
        b[i] += fb * s[i];
      }
    }
    for (int64_t i = 0; i < B; ++i) {
      outa[x + i] = a[i];
      outb[x + i] = b[i];
    }
  }
  for (; x < n; ++x) {
    float a = ca[0] * src[0][x], b = cb[0] * src[0][x];
    for (int k = 1; k < ntaps; ++k) {
      a += ca[k] * src[k][x];
      b += cb[k] * src[k][x];
    }
    outa[x] = a;
    outb[x] = b;
  }
}

}  // namespace imgen::wavelet::IMGEN_SIMD_NS
