// Internal: the one inner kernel of the transform, compiled once per SIMD level
// (dwt_kernels.inl into namespaces baseline and avx2) and chosen at run time.
#pragma once

#include <cstdint>

// fir2: outa[x] = sum_k ca[k] * src[k][x], outb[x] = sum_k cb[k] * src[k][x] for x in [0, n),
// summed in order k = 0, 1, ... for every x (so the result does not depend on where x falls).
#define IMGEN_DECLARE_WAVELET_KERNELS(ns)                                                   \
  namespace imgen::wavelet::ns {                                                            \
  void fir2(const float* const* src, const float* ca, const float* cb, int ntaps, float* outa, \
            float* outb, int64_t n);                                                        \
  }

IMGEN_DECLARE_WAVELET_KERNELS(baseline)
IMGEN_DECLARE_WAVELET_KERNELS(avx2)
