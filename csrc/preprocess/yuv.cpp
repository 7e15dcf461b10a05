#include "preprocess/yuv.hpp"

#include <algorithm>

#include "common/cpu_features.hpp"
#include "preprocess/yuv_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "preprocess/yuv_kernels.inl"
#undef IMGEN_SIMD_NS

namespace imgen {

namespace yuv_detail {

Coeffs coefficients(const YuvMatrix& m) {
  const double kr = m.kr, kb = m.kb, kg = 1.0 - kr - kb;
  const double ys = m.full_range ? 1.0 : 219.0 / 255.0;
  const double cs = m.full_range ? 1.0 : 224.0 / 255.0;
  const double yo = m.full_range ? 0.0 : 16.0;
  const double ub = cs / (2.0 * (1.0 - kb)), vr = cs / (2.0 * (1.0 - kr));
  Coeffs c{};
  c.y_r = static_cast<float>(ys * kr);
  c.y_g = static_cast<float>(ys * kg);
  c.y_b = static_cast<float>(ys * kb);
  c.y_off = static_cast<float>(yo);
  // U = (B - Y') * ub, V = (R - Y') * vr, with Y' = kr R + kg G + kb B
  c.u_r = static_cast<float>(-kr * ub);
  c.u_g = static_cast<float>(-kg * ub);
  c.u_b = static_cast<float>((1.0 - kb) * ub);
  c.v_r = static_cast<float>((1.0 - kr) * vr);
  c.v_g = static_cast<float>(-kg * vr);
  c.v_b = static_cast<float>(-kb * vr);
  c.s = static_cast<float>(1.0 / ys);
  c.r_v = static_cast<float>(2.0 * (1.0 - kr) / cs);
  c.b_u = static_cast<float>(2.0 * (1.0 - kb) / cs);
  c.g_u = static_cast<float>(-2.0 * kb * (1.0 - kb) / (cs * kg));
  c.g_v = static_cast<float>(-2.0 * kr * (1.0 - kr) / (cs * kg));
  return c;
}

}  // namespace yuv_detail

namespace {

// Rows per task: ~64k pixels.
int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, width)); }

}  // namespace

const char* yuv_simd_level() { return cpu_has_avx2() ? "avx2" : "baseline"; }

void rgb_to_yuv420(const uint8_t* rgb, int64_t rgb_stride, const Yuv420View& dst, const YuvMatrix& m,
                   ThreadPool* pool) {
  if (dst.height <= 0 || dst.width <= 0) return;
  const yuv_detail::ToYuvJob job{rgb, rgb_stride, dst, yuv_detail::coefficients(m)};
  const bool avx2 = cpu_has_avx2();
  run_rows(pool, (dst.height + 1) / 2, std::max<int64_t>(1, grain_rows(dst.width) / 2),
           [&](int64_t b, int64_t e) { avx2 ? avx2::to_yuv_rows(job, b, e) : baseline::to_yuv_rows(job, b, e); });
}

void yuv420_to_rgb(const Yuv420View& src, uint8_t* rgb, int64_t rgb_stride, const YuvMatrix& m, bool cosited,
                   ThreadPool* pool) {
  if (src.height <= 0 || src.width <= 0) return;
  const yuv_detail::ToRgbJob job{src, rgb, rgb_stride, yuv_detail::coefficients(m), cosited};
  const bool avx2 = cpu_has_avx2();
  run_rows(pool, src.height, grain_rows(src.width),
           [&](int64_t b, int64_t e) { avx2 ? avx2::to_rgb_rows(job, b, e) : baseline::to_rgb_rows(job, b, e); });
}

}  // namespace imgen
