// Row kernels of the YUV <-> RGB conversion: the baseline (yuv.cpp includes this with
// IMGEN_SIMD_NS baseline).  Plain loops over float rows; no state outside the job.  yuv_avx2.cpp
// does the same arithmetic in the same order with intrinsics (the same bytes out): change both.
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
  // Each RGB row is read once: its luma is written and its column-pair sums (R, G, B) kept in a
  // ring of four rows, from which each chroma row takes rows 2cy-1 .. 2cy+2 weighted 1 3 3 1.
  const size_t row_sums = 3 * static_cast<size_t>(cw);
  std::vector<float> ring(4 * row_sums);
  std::vector<float> planar(3 * static_cast<size_t>(w));
  float* __restrict pr = planar.data();
  float* __restrict pg = pr + w;
  float* __restrict pb = pg + w;
  auto load_row = [&](int64_t y, float* __restrict sums) {
    const uint8_t* __restrict src = job.rgb + y * job.rgb_stride;
    for (int64_t x = 0; x < w; ++x) {
      pr[x] = src[3 * x];
      pg[x] = src[3 * x + 1];
      pb[x] = src[3 * x + 2];
    }
    if (y >= 2 * begin && y < 2 * end) {  // this task's luma rows (neighbours' rows are only read)
      uint8_t* __restrict out = d.y + y * d.y_stride;
      for (int64_t x = 0; x < w; ++x) out[x] = to_u8(k.y_r * pr[x] + k.y_g * pg[x] + k.y_b * pb[x] + k.y_off);
    }
    float* __restrict sr = sums;
    float* __restrict sg = sums + cw;
    float* __restrict sb = sums + 2 * cw;
    const int64_t pairs = w / 2;
    for (int64_t i = 0; i < pairs; ++i) {
      sr[i] = pr[2 * i] + pr[2 * i + 1];
      sg[i] = pg[2 * i] + pg[2 * i + 1];
      sb[i] = pb[2 * i] + pb[2 * i + 1];
    }
    if (w % 2) {
      sr[pairs] = 2 * pr[w - 1];
      sg[pairs] = 2 * pg[w - 1];
      sb[pairs] = 2 * pb[w - 1];
    }
  };
  // ring slot of row y (clamped rows share their source row's slot content: copied)
  auto slot = [&](int64_t y) { return ring.data() + static_cast<size_t>(((y % 4) + 4) % 4) * row_sums; };
  auto fill = [&](int64_t y) {
    const int64_t src = std::clamp<int64_t>(y, 0, h - 1);
    if (src == y)
      load_row(y, slot(y));
    else
      std::copy(slot(src), slot(src) + row_sums, slot(y));
  };
  // rows 2b and 2b-1 first (row -1 repeats row 0, so row 0 goes before it); then two rows a step
  fill(2 * begin);
  fill(2 * begin - 1);
  for (int64_t cy = begin; cy < end; ++cy) {
    fill(2 * cy + 1);
    fill(2 * cy + 2);
    const float* r0 = slot(2 * cy - 1);
    const float* r1 = slot(2 * cy);
    const float* r2 = slot(2 * cy + 1);
    const float* r3 = slot(2 * cy + 2);
    uint8_t* __restrict u = d.u + cy * d.c_stride;
    uint8_t* __restrict v = d.v + cy * d.c_stride;
    const int64_t step = d.chroma_step;
    for (int64_t i = 0; i < cw; ++i) {
      const float sr = 0.0625f * (r0[i] + r3[i]) + 0.1875f * (r1[i] + r2[i]);
      const float sg = 0.0625f * (r0[cw + i] + r3[cw + i]) + 0.1875f * (r1[cw + i] + r2[cw + i]);
      const float sb = 0.0625f * (r0[2 * cw + i] + r3[2 * cw + i]) + 0.1875f * (r1[2 * cw + i] + r2[2 * cw + i]);
      u[i * step] = to_u8(k.u_r * sr + k.u_g * sg + k.u_b * sb + 128.0f);
      v[i * step] = to_u8(k.v_r * sr + k.v_g * sg + k.v_b * sb + 128.0f);
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
    // centred sites: 3/4 of the nearer sample, 1/4 of the farther; co-sited (left): the sample
    // itself at even x, the mean of its two neighbours at odd x
    const float near = job.cosited ? 1.0f : 0.75f, before = job.cosited ? 0.0f : 0.25f;
    const float near_odd = job.cosited ? 0.5f : 0.75f, after_odd = job.cosited ? 0.5f : 0.25f;
    for (int64_t i = 0; i < pairs; ++i) {
      pu[2 * i] = near * cu[i + 1] + before * cu[i];
      pu[2 * i + 1] = near_odd * cu[i + 1] + after_odd * cu[i + 2];
      pv[2 * i] = near * cv[i + 1] + before * cv[i];
      pv[2 * i + 1] = near_odd * cv[i + 1] + after_odd * cv[i + 2];
    }
    if (w % 2) {
      pu[w - 1] = near * cu[cw] + before * cu[cw - 1];
      pv[w - 1] = near * cv[cw] + before * cv[cw - 1];
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
