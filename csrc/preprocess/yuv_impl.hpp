// Internal: row kernels of yuv.cpp, compiled once per SIMD level (see yuv_kernels.inl).
#pragma once

#include <cstdint>

#include "preprocess/yuv.hpp"

namespace imgen::yuv_detail {

// Conversion coefficients on the 0-255 scale.
//   to yuv: Y = y_r R + y_g G + y_b B + y_off; U = u_r R + u_g G + u_b B + 128 (V likewise)
//   to rgb: R = s (Y - y_off) + r_v (V - 128); G = s (Y - y_off) + g_u (U - 128) + g_v (V - 128);
//           B = s (Y - y_off) + b_u (U - 128)
struct Coeffs {
  float y_r, y_g, y_b, y_off;
  float u_r, u_g, u_b;
  float v_r, v_g, v_b;
  float s, r_v, g_u, g_v, b_u;
};

Coeffs coefficients(const YuvMatrix& m);

struct ToYuvJob {
  const uint8_t* rgb;
  int64_t rgb_stride;
  Yuv420View dst;
  Coeffs k;
};

struct ToRgbJob {
  Yuv420View src;
  uint8_t* rgb;
  int64_t rgb_stride;
  Coeffs k;
  bool cosited;
};

}  // namespace imgen::yuv_detail

#define IMGEN_DECLARE_YUV_KERNELS(ns)                                                           \
  namespace imgen::ns {                                                                         \
  /* chroma rows [begin, end) and the luma rows they cover */                                   \
  void to_yuv_rows(const yuv_detail::ToYuvJob& job, int64_t begin, int64_t end);                \
  /* luma rows [begin, end) */                                                                  \
  void to_rgb_rows(const yuv_detail::ToRgbJob& job, int64_t begin, int64_t end);                \
  }

IMGEN_DECLARE_YUV_KERNELS(baseline)
IMGEN_DECLARE_YUV_KERNELS(avx2)
