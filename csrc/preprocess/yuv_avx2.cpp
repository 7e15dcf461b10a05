// The YUV row kernels written with AVX2 intrinsics; chosen at run time (yuv.cpp).  The arithmetic is
// yuv_kernels.inl's (the baseline), operation for operation and in the same order, and the file is
// built without FMA contraction (CMakeLists.txt), so both give the same bytes.  What the baseline
// leaves scalar is done here with shuffles: the RGB24 <-> planar (de)interleave (pshufb, 32 pixels
// a step), the nv12 UV split/merge and the 2:1 horizontal chroma steps.  Row ends shorter than a
// vector step go through small zero-padded buffers, so nothing is read or written outside the planes.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "preprocess/yuv_impl.hpp"

namespace imgen::avx2 {

namespace {

// pshufb masks between 16 planar R, G, B bytes and 48 bytes of RGB24, [chunk][channel] (the same
// in both 128-bit lanes): interleave: chunk k of the output takes byte p of channel c where
// 16k + j == 3p + c; deinterleave: channel c's byte p comes from chunk (3p + c) / 16.
struct Masks {
  alignas(32) int8_t m[3][3][32];
};

constexpr Masks make_interleave() {
  Masks s{};
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 32; ++j) {
        const int g = 16 * k + j % 16;
        s.m[k][c][j] = static_cast<int8_t>(g % 3 == c ? g / 3 : -128);
      }
  return s;
}

constexpr Masks make_deinterleave() {
  Masks s{};
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 32; ++j) {
        const int g = 3 * (j % 16) + c;
        s.m[k][c][j] = static_cast<int8_t>(g / 16 == k ? g % 16 : -128);
      }
  return s;
}

constexpr Masks kInterleave = make_interleave();
constexpr Masks kDeinterleave = make_deinterleave();

inline __m256i mask(const Masks& s, int k, int c) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(s.m[k][c]));
}

// 32 pixels (R, G, B: 32 bytes each, in order) -> 96 bytes of RGB24 at out.
inline void interleave32(__m256i r, __m256i g, __m256i b, uint8_t* out) {
  __m256i o[3];
  for (int k = 0; k < 3; ++k)
    o[k] = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(r, mask(kInterleave, k, 0)),
                                           _mm256_shuffle_epi8(g, mask(kInterleave, k, 1))),
                           _mm256_shuffle_epi8(b, mask(kInterleave, k, 2)));
  // o[k] holds chunk k of pixels 0-15 (low lane) and of pixels 16-31 (high lane)
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permute2x128_si256(o[0], o[1], 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32), _mm256_permute2x128_si256(o[2], o[0], 0x30));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 64), _mm256_permute2x128_si256(o[1], o[2], 0x31));
}

// 96 bytes of RGB24 at in -> R, G, B of its 32 pixels (32 bytes each, in order).
inline void deinterleave32(const uint8_t* in, __m256i* r, __m256i* g, __m256i* b) {
  __m256i c[3];
  for (int k = 0; k < 3; ++k)
    c[k] = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16 * k))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 48 + 16 * k)), 1);
  __m256i* out[3] = {r, g, b};
  for (int ch = 0; ch < 3; ++ch)
    *out[ch] = _mm256_or_si256(_mm256_or_si256(_mm256_shuffle_epi8(c[0], mask(kDeinterleave, 0, ch)),
                                                _mm256_shuffle_epi8(c[1], mask(kDeinterleave, 1, ch))),
                               _mm256_shuffle_epi8(c[2], mask(kDeinterleave, 2, ch)));
}

// Bytes 8q .. 8q + 7 of v as floats.
inline __m256 group_ps(__m256i v, int q) {
  const __m128i half = q < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q % 2 ? _mm_srli_si128(half, 8) : half));
}

inline __m256 u8x8_ps(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }

// The baseline's to_u8: clamp to 0..255, add 0.5, truncate.
inline __m256i to_i32(__m256 v) {
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(255.0f));
  return _mm256_cvttps_epi32(_mm256_add_ps(v, _mm256_set1_ps(0.5f)));
}

// 8 floats -> 8 bytes (low half).
inline __m128i to_u8x8(__m256 v) {
  const __m256i i = to_i32(v);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
  return _mm_packus_epi16(w, w);
}

// 4 x 8 floats (pixels 0-7, 8-15, 16-23, 24-31) -> 32 bytes in order.
inline __m256i to_u8x32(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256i ab = _mm256_packs_epi32(to_i32(a), to_i32(b));  // a0-3 b0-3 | a4-7 b4-7
  const __m256i cd = _mm256_packs_epi32(to_i32(c), to_i32(d));
  const __m256i bytes = _mm256_packus_epi16(ab, cd);  // dwords: a0-3 b0-3 c0-3 d0-3 | a4-7 ...
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

inline __m256 ld(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
inline __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
inline __m256 bc(float v) { return _mm256_set1_ps(v); }

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

}  // namespace

void to_yuv_rows(const yuv_detail::ToYuvJob& job, int64_t begin, int64_t end) {
  const auto& d = job.dst;
  const auto& k = job.k;
  const int64_t w = d.width, h = d.height, cw = (w + 1) / 2;
  const int64_t wp = round_up(w, 32);
  // ring of four rows of column-pair sums (R, G, B), each channel padded to whole vectors
  const int64_t cs = round_up(cw, 8) + 8;
  const size_t row_sums = 3 * static_cast<size_t>(cs);
  std::vector<float> ring(4 * row_sums);
  std::vector<float> planar(3 * static_cast<size_t>(wp) + 16);
  float* pr = planar.data();
  float* pg = pr + wp;
  float* pb = pg + wp;
  const __m256 yr = bc(k.y_r), yg = bc(k.y_g), yb = bc(k.y_b), yo = bc(k.y_off);
  auto load_row = [&](int64_t y, float* sums) {
    const uint8_t* src = job.rgb + y * job.rgb_stride;
    const bool mine = y >= 2 * begin && y < 2 * end;  // this task's luma rows
    uint8_t* out = d.y + y * d.y_stride;
    for (int64_t x = 0; x < w; x += 32) {
      alignas(32) uint8_t in_tail[96] = {};
      alignas(32) uint8_t out_tail[32];
      const bool whole = x + 32 <= w;
      const uint8_t* sp = src + 3 * x;
      if (!whole) {
        std::memcpy(in_tail, sp, static_cast<size_t>(3 * (w - x)));
        sp = in_tail;
      }
      __m256i r, g, b;
      deinterleave32(sp, &r, &g, &b);
      __m256 lum[4];
      for (int q = 0; q < 4; ++q) {
        const __m256 fr = group_ps(r, q), fg = group_ps(g, q), fb = group_ps(b, q);
        _mm256_storeu_ps(pr + x + 8 * q, fr);
        _mm256_storeu_ps(pg + x + 8 * q, fg);
        _mm256_storeu_ps(pb + x + 8 * q, fb);
        lum[q] = add(add(add(mul(yr, fr), mul(yg, fg)), mul(yb, fb)), yo);
      }
      if (mine) {
        const __m256i y8 = to_u8x32(lum[0], lum[1], lum[2], lum[3]);
        if (whole) {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + x), y8);
        } else {
          _mm256_store_si256(reinterpret_cast<__m256i*>(out_tail), y8);
          std::memcpy(out + x, out_tail, static_cast<size_t>(w - x));
        }
      }
    }
    const int64_t pairs = w / 2;
    float* chan[3] = {pr, pg, pb};
    for (int c = 0; c < 3; ++c) {
      const float* p = chan[c];
      float* s = sums + c * cs;
      for (int64_t i = 0; i < pairs; i += 8) {  // s[i] = p[2i] + p[2i + 1]
        const __m256 hs = _mm256_hadd_ps(ld(p + 2 * i), ld(p + 2 * i + 8));
        _mm256_storeu_ps(s + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(hs), 0xD8)));
      }
      if (w % 2) s[pairs] = 2 * p[w - 1];
    }
  };
  auto slot = [&](int64_t y) { return ring.data() + static_cast<size_t>(((y % 4) + 4) % 4) * row_sums; };
  auto fill = [&](int64_t y) {
    const int64_t src = std::clamp<int64_t>(y, 0, h - 1);
    if (src == y)
      load_row(y, slot(y));
    else
      std::copy(slot(src), slot(src) + row_sums, slot(y));
  };
  const __m256 w1 = bc(0.0625f), w3 = bc(0.1875f), c128 = bc(128.0f);
  const __m256 ur = bc(k.u_r), ug = bc(k.u_g), ub = bc(k.u_b);
  const __m256 vr = bc(k.v_r), vg = bc(k.v_g), vb = bc(k.v_b);
  fill(2 * begin);
  fill(2 * begin - 1);
  for (int64_t cy = begin; cy < end; ++cy) {
    fill(2 * cy + 1);
    fill(2 * cy + 2);
    const float* r0 = slot(2 * cy - 1);
    const float* r1 = slot(2 * cy);
    const float* r2 = slot(2 * cy + 1);
    const float* r3 = slot(2 * cy + 2);
    uint8_t* u = d.u + cy * d.c_stride;
    uint8_t* v = d.v + cy * d.c_stride;
    for (int64_t i = 0; i < cw; i += 8) {
      __m256 sum[3];
      for (int c = 0; c < 3; ++c) {
        const int64_t o = c * cs + i;
        sum[c] = add(mul(w1, add(ld(r0 + o), ld(r3 + o))), mul(w3, add(ld(r1 + o), ld(r2 + o))));
      }
      const __m128i u8 = to_u8x8(add(add(add(mul(ur, sum[0]), mul(ug, sum[1])), mul(ub, sum[2])), c128));
      const __m128i v8 = to_u8x8(add(add(add(mul(vr, sum[0]), mul(vg, sum[1])), mul(vb, sum[2])), c128));
      const int64_t n = std::min<int64_t>(8, cw - i);
      if (d.chroma_step == 1) {
        if (n == 8) {
          _mm_storel_epi64(reinterpret_cast<__m128i*>(u + i), u8);
          _mm_storel_epi64(reinterpret_cast<__m128i*>(v + i), v8);
        } else {
          alignas(16) uint8_t t[2][16];
          _mm_store_si128(reinterpret_cast<__m128i*>(t[0]), u8);
          _mm_store_si128(reinterpret_cast<__m128i*>(t[1]), v8);
          std::memcpy(u + i, t[0], static_cast<size_t>(n));
          std::memcpy(v + i, t[1], static_cast<size_t>(n));
        }
      } else {  // nv12: u is the interleaved UV row
        const __m128i uv = _mm_unpacklo_epi8(u8, v8);
        if (n == 8) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(u + 2 * i), uv);
        } else {
          alignas(16) uint8_t t[16];
          _mm_store_si128(reinterpret_cast<__m128i*>(t), uv);
          std::memcpy(u + 2 * i, t, static_cast<size_t>(2 * n));
        }
      }
    }
  }
}

void to_rgb_rows(const yuv_detail::ToRgbJob& job, int64_t begin, int64_t end) {
  const auto& s = job.src;
  const auto& k = job.k;
  const int64_t w = s.width, ch = (s.height + 1) / 2, cw = (w + 1) / 2;
  const int64_t step = s.chroma_step;
  const int64_t wp = round_up(w, 32), cwp = round_up(cw, 8) + 16;
  // vertically interpolated chroma (index i + 1: sample i; one repeated sample each side), then
  // per pixel; all padded to whole vectors
  std::vector<float> buf(2 * static_cast<size_t>(cwp) + 2 * static_cast<size_t>(wp));
  float* cu = buf.data();
  float* cv = cu + cwp;
  float* pu = cv + cwp;
  float* pv = pu + wp;
  const __m256 c75 = bc(0.75f), c25 = bc(0.25f), c128 = bc(128.0f);
  auto vert = [&](__m128i a, __m128i b) { return _mm256_sub_ps(add(mul(c75, u8x8_ps(a)), mul(c25, u8x8_ps(b))), c128); };
  const __m128i split = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  const float near = job.cosited ? 1.0f : 0.75f, before = job.cosited ? 0.0f : 0.25f;
  const float near_odd = job.cosited ? 0.5f : 0.75f, after_odd = job.cosited ? 0.5f : 0.25f;
  const __m256 hn = bc(near), hb = bc(before), hno = bc(near_odd), hao = bc(after_odd);
  const __m256 ks = bc(k.s), kyo = bc(k.y_off), krv = bc(k.r_v), kgu = bc(k.g_u), kgv = bc(k.g_v), kbu = bc(k.b_u);
  for (int64_t y = begin; y < end; ++y) {
    const int64_t cy = y / 2;
    const int64_t other = std::clamp<int64_t>(y % 2 ? cy + 1 : cy - 1, 0, ch - 1);
    const uint8_t* u0 = s.u + cy * s.c_stride;
    const uint8_t* u1 = s.u + other * s.c_stride;
    const uint8_t* v0 = s.v + cy * s.c_stride;
    const uint8_t* v1 = s.v + other * s.c_stride;
    int64_t i = 0;
    if (step == 1) {
      for (; i + 8 <= cw; i += 8) {
        _mm256_storeu_ps(cu + i + 1, vert(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(u0 + i)),
                                          _mm_loadl_epi64(reinterpret_cast<const __m128i*>(u1 + i))));
        _mm256_storeu_ps(cv + i + 1, vert(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(v0 + i)),
                                          _mm_loadl_epi64(reinterpret_cast<const __m128i*>(v1 + i))));
      }
    } else {  // nv12: 8 UV pairs a step, split into U (low 8 bytes) and V (high 8)
      for (; i + 8 <= cw; i += 8) {
        const __m128i a = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u0 + 2 * i)), split);
        const __m128i b = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(u1 + 2 * i)), split);
        _mm256_storeu_ps(cu + i + 1, vert(a, b));
        _mm256_storeu_ps(cv + i + 1, vert(_mm_srli_si128(a, 8), _mm_srli_si128(b, 8)));
      }
    }
    if (i < cw) {  // the row's last samples, gathered into zero-padded blocks
      alignas(16) uint8_t t[4][16] = {};
      for (int64_t j = i; j < cw; ++j) {
        t[0][j - i] = u0[j * step];
        t[1][j - i] = u1[j * step];
        t[2][j - i] = v0[j * step];
        t[3][j - i] = v1[j * step];
      }
      auto row = [&](int r) { return _mm_load_si128(reinterpret_cast<const __m128i*>(t[r])); };
      _mm256_storeu_ps(cu + i + 1, vert(row(0), row(1)));
      _mm256_storeu_ps(cv + i + 1, vert(row(2), row(3)));
    }
    cu[0] = cu[1];
    cv[0] = cv[1];
    cu[cw + 1] = cu[cw];
    cv[cw + 1] = cv[cw];
    // horizontal: even x = 2i from samples i (nearer) and i - 1, odd x = 2i + 1 from i and i + 1;
    // for an odd width the last even pixel is the same formula at i = cw - 1
    float* planes[2] = {cu, cv};
    float* outs[2] = {pu, pv};
    for (int c = 0; c < 2; ++c) {
      const float* cc = planes[c];
      float* po = outs[c];
      for (int64_t j = 0; j < cw; j += 8) {
        const __m256 s0 = ld(cc + j), s1 = ld(cc + j + 1), s2 = ld(cc + j + 2);
        const __m256 even = add(mul(hn, s1), mul(hb, s0));
        const __m256 odd = add(mul(hno, s1), mul(hao, s2));
        const __m256 lo = _mm256_unpacklo_ps(even, odd), hi = _mm256_unpackhi_ps(even, odd);
        _mm256_storeu_ps(po + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(po + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
      }
    }
    const uint8_t* yl = s.y + y * s.y_stride;
    uint8_t* out = job.rgb + y * job.rgb_stride;
    for (int64_t x = 0; x < w; x += 32) {
      alignas(32) uint8_t y_tail[32] = {};
      alignas(32) uint8_t out_tail[96];
      const bool whole = x + 32 <= w;
      const uint8_t* yp = yl + x;
      if (!whole) {
        std::memcpy(y_tail, yp, static_cast<size_t>(w - x));
        yp = y_tail;
      }
      const __m256i y8 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yp));
      __m256 r[4], g[4], b[4];
      for (int q = 0; q < 4; ++q) {
        const __m256 l = mul(ks, _mm256_sub_ps(group_ps(y8, q), kyo));
        const __m256 fu = ld(pu + x + 8 * q), fv = ld(pv + x + 8 * q);
        r[q] = add(l, mul(krv, fv));
        g[q] = add(add(l, mul(kgu, fu)), mul(kgv, fv));
        b[q] = add(l, mul(kbu, fu));
      }
      uint8_t* op = whole ? out + 3 * x : out_tail;
      interleave32(to_u8x32(r[0], r[1], r[2], r[3]), to_u8x32(g[0], g[1], g[2], g[3]),
                   to_u8x32(b[0], b[1], b[2], b[3]), op);
      if (!whole) std::memcpy(out + 3 * x, out_tail, static_cast<size_t>(3 * (w - x)));
    }
  }
}

}  // namespace imgen::avx2
