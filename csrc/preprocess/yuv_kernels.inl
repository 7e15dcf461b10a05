// Row kernels of the YUV <-> RGB conversion, included once per SIMD level with IMGEN_SIMD_NS set
// (yuv.cpp: baseline, yuv_avx2.cpp: avx2).  Plain loops over float rows that the compiler
// vectorises; no state outside the job.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace imgen::IMGEN_SIMD_NS {

namespace {

inline uint8_t to_u8(float v) {
  v = v < 0.0f ? 0.0f : (v > 255.0f ? 255.0f : v);
  return static_cast<uint8_t>(static_cast<int>(v + 0.5f));
}

}  // namespace

void to_yuv_rows(const yuv_detail::ToYuvJob& job, int64_t begin, int64_t end) {
  const auto& d = job.dst;
  const auto& k = job.k;
  const int64_t w = d.width, h = d.height, cw = (w + 1) / 2;
  std::vector<float> sums(3 * static_cast<size_t>(cw));
  float* __restrict sr = sums.data();
  float* __restrict sg = sr + cw;
  float* __restrict sb = sg + cw;
  static constexpr float kRowWeight[4] = {0.125f, 0.375f, 0.375f, 0.125f};
  for (int64_t cy = begin; cy < end; ++cy) {
    // luma of rows 2cy and 2cy + 1
    for (int64_t y = 2 * cy; y < std::min(2 * cy + 2, h); ++y) {
      const uint8_t* __restrict src = job.rgb + y * job.rgb_stride;
      uint8_t* __restrict out = d.y + y * d.y_stride;
      for (int64_t x = 0; x < w; ++x)
        out[x] = to_u8(k.y_r * src[3 * x] + k.y_g * src[3 * x + 1] + k.y_b * src[3 * x + 2] + k.y_off);
    }
    // chroma: column pairs averaged, rows 2cy-1 .. 2cy+2 weighted 1 3 3 1 (edges repeated)
    std::fill(sums.begin(), sums.end(), 0.0f);
    for (int t = 0; t < 4; ++t) {
      const int64_t y = std::clamp<int64_t>(2 * cy - 1 + t, 0, h - 1);
      const uint8_t* __restrict src = job.rgb + y * job.rgb_stride;
      const float wt = 0.5f * kRowWeight[t];
      const int64_t pairs = w / 2;
      for (int64_t i = 0; i < pairs; ++i) {
        sr[i] += wt * static_cast<float>(src[6 * i] + src[6 * i + 3]);
        sg[i] += wt * static_cast<float>(src[6 * i + 1] + src[6 * i + 4]);
        sb[i] += wt * static_cast<float>(src[6 * i + 2] + src[6 * i + 5]);
      }
      if (w % 2) {
        const int64_t x = w - 1;
        sr[pairs] += 2 * wt * src[3 * x];
        sg[pairs] += 2 * wt * src[3 * x + 1];
        sb[pairs] += 2 * wt * src[3 * x + 2];
      }
    }
    uint8_t* __restrict u = d.u + cy * d.c_stride;
    uint8_t* __restrict v = d.v + cy * d.c_stride;
    const int64_t step = d.chroma_step;
    for (int64_t i = 0; i < cw; ++i) {
      u[i * step] = to_u8(k.u_r * sr[i] + k.u_g * sg[i] + k.u_b * sb[i] + 128.0f);
      v[i * step] = to_u8(k.v_r * sr[i] + k.v_g * sg[i] + k.v_b * sb[i] + 128.0f);
    }
  }
}

void to_rgb_rows(const yuv_detail::ToRgbJob& job, int64_t begin, int64_t end) {
  const auto& s = job.src;
  const auto& k = job.k;
  const int64_t w = s.width, h = s.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const int64_t step = s.chroma_step;
  // vertically interpolated chroma with one repeated sample each side, then per pixel
  std::vector<float> buf(2 * static_cast<size_t>(cw + 2) + 2 * static_cast<size_t>(w));
  float* __restrict cu = buf.data();
  float* __restrict cv = cu + (cw + 2);
  float* __restrict pu = cv + (cw + 2);
  float* __restrict pv = pu + w;
  for (int64_t y = begin; y < end; ++y) {
    const int64_t cy = y / 2;
    const int64_t other = std::clamp<int64_t>(y % 2 ? cy + 1 : cy - 1, 0, ch - 1);
    const uint8_t* __restrict u0 = s.u + cy * s.c_stride;
    const uint8_t* __restrict u1 = s.u + other * s.c_stride;
    const uint8_t* __restrict v0 = s.v + cy * s.c_stride;
    const uint8_t* __restrict v1 = s.v + other * s.c_stride;
    for (int64_t i = 0; i < cw; ++i) {
      cu[i + 1] = 0.75f * u0[i * step] + 0.25f * u1[i * step] - 128.0f;
      cv[i + 1] = 0.75f * v0[i * step] + 0.25f * v1[i * step] - 128.0f;
    }
    cu[0] = cu[1];
    cv[0] = cv[1];
    cu[cw + 1] = cu[cw];
    cv[cw + 1] = cv[cw];
    const int64_t pairs = w / 2;
    for (int64_t i = 0; i < pairs; ++i) {
      pu[2 * i] = 0.75f * cu[i + 1] + 0.25f * cu[i];
      pu[2 * i + 1] = 0.75f * cu[i + 1] + 0.25f * cu[i + 2];
      pv[2 * i] = 0.75f * cv[i + 1] + 0.25f * cv[i];
      pv[2 * i + 1] = 0.75f * cv[i + 1] + 0.25f * cv[i + 2];
    }
    if (w % 2) {
      pu[w - 1] = 0.75f * cu[cw] + 0.25f * cu[cw - 1];
      pv[w - 1] = 0.75f * cv[cw] + 0.25f * cv[cw - 1];
    }
    const uint8_t* __restrict yl = s.y + y * s.y_stride;
    uint8_t* __restrict out = job.rgb + y * job.rgb_stride;
    for (int64_t x = 0; x < w; ++x) {
      const float l = k.s * (static_cast<float>(yl[x]) - k.y_off);
      out[3 * x] = to_u8(l + k.r_v * pv[x]);
      out[3 * x + 1] = to_u8(l + k.g_u * pu[x] + k.g_v * pv[x]);
      out[3 * x + 2] = to_u8(l + k.b_u * pu[x]);
    }
  }
}

}  // namespace imgen::IMGEN_SIMD_NS
