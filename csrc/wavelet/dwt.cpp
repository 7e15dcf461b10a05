#include "wavelet/dwt.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/cpu_features.hpp"
#include "wavelet/dwt_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "wavelet/dwt_kernels.inl"
#undef IMGEN_SIMD_NS

namespace imgen::wavelet {
namespace {

using Fir2 = void (*)(const float* const*, const float*, const float*, int, float*, float*,
                      int64_t);

Fir2 pick_fir2() { return cpu_has_avx2() ? avx2::fir2 : baseline::fir2; }

// Inputs and taps of one fir2 call; taps that are zero in both outputs (the padding of the
// biorthogonal filters) are dropped.
struct TapList {
  std::array<const float*, 2 * k_max_taps> src{};
  std::array<float, 2 * k_max_taps> ca{}, cb{};
  int n = 0;

  void add(const float* p, float a, float b) {
    if (a == 0.0f && b == 0.0f) return;
    src[static_cast<size_t>(n)] = p;
    ca[static_cast<size_t>(n)] = a;
    cb[static_cast<size_t>(n)] = b;
    ++n;
  }
  void run(Fir2 fir2, float* outa, float* outb, int64_t len) const {
    if (n == 0) {
      std::fill(outa, outa + len, 0.0f);
      std::fill(outb, outb + len, 0.0f);
    } else {
      fir2(src.data(), ca.data(), cb.data(), n, outa, outb, len);
    }
  }
};

// Rows per task: about 8k samples, so that small levels run as one task.
int64_t row_grain(int64_t width) { return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, width)); }


std::string size_string(int64_t h, int64_t w) {
  return std::to_string(h) + "x" + std::to_string(w);
}

bool same_size(const Plane& a, int64_t h, int64_t w) { return a.height == h && a.width == w; }

size_t largest_band(std::span<const DetailBands> details) {
  int64_t most = 0;
  for (const DetailBands& d : details) most = std::max(most, d.h.height * d.h.width);
  return static_cast<size_t>(most);
}

// Sum of p[x]^2 in double, in eight interleaved partial sums (vectorisable, and still one fixed
// order for a given n).
double sum_squares(const float* p, int64_t n) {
  double acc[8] = {};
  int64_t x = 0;
  for (; x + 8 <= n; x += 8)
    for (int i = 0; i < 8; ++i) acc[i] += static_cast<double>(p[x + i]) * p[x + i];
  for (; x < n; ++x) acc[0] += static_cast<double>(p[x]) * p[x];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// One analysis level: src -> approx (aa) and the three detail bands; energy optional.
// Filters one row along axis 1 into lo and hi (bw values each).  The row is split into
// even/odd samples of its symmetric extension, E[t] = x[2t - (F - 1)], O[t] = x[2t + 2 - F],
// held in e and o (bw + F/2 values each), and filtered as contiguous arrays by `taps`.
void analysis_row(const float* x, int64_t w, int f, float* e, float* o, int64_t m,
                  const TapList& taps, Fir2 fir2, float* lo, float* hi, int64_t bw) {
  const int64_t half = f / 2;
  // Interior t (both samples inside the row) is a plain de-interleave; the ends reflect.
  const int64_t t0 = std::min<int64_t>(m, half), t1 = std::max(t0, std::min(m, (w + f - 1) / 2));
  for (int64_t t = 0; t < t0; ++t) {
    e[t] = x[symmetric_index(2 * t - (f - 1), w)];
    o[t] = x[symmetric_index(2 * t + 2 - f, w)];
  }
  const float* xi = x + 2 * t0 - (f - 1);
  for (int64_t t = t0; t < t1; ++t) {
    e[t] = xi[2 * (t - t0)];
    o[t] = xi[2 * (t - t0) + 1];
  }
  for (int64_t t = t1; t < m; ++t) {
    e[t] = x[symmetric_index(2 * t - (f - 1), w)];
    o[t] = x[symmetric_index(2 * t + 2 - f, w)];
  }
  taps.run(fir2, lo, hi, bw);
}

// One analysis level: src -> approx (aa) and the three detail bands; energy optional.  Output
// rows go in strips: a strip of S output rows needs 2S + F - 2 rows filtered along axis 1, kept in
// a small per-task buffer (no image-sized temporary; neighbouring strips recompute F - 2 rows).
void analysis_level(const Plane& src, const FilterBank& fb, const Plane& aa, const DetailBands& det,
                    ThreadPool* pool, BandEnergy* energy, Fir2 fir2) {
  constexpr int64_t k_strip = 64;
  const int f = fb.length, half = f / 2;
  const int64_t h = src.height, w = src.width;
  const int64_t bh = coeff_len(h, f), bw = coeff_len(w, f);
  const int64_t m = bw + half;
  std::vector<double> rowsum(energy ? static_cast<size_t>(3 * bh) : 0);
  run_rows(pool, bh, row_grain(bw), [&](int64_t begin, int64_t end) {
    const int64_t strip_rows = 2 * std::min(k_strip, end - begin) + f - 2;
    auto buf = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(2 * m + 2 * strip_rows * bw));
    float* e = buf.get();
    float* o = e + m;
    float* lo = o + m;  // strip row k holds extended row base + k, low-pass along axis 1
    float* hi = lo + strip_rows * bw;
    TapList taps;
    for (int k = 1; k <= half; ++k)
      taps.add(e + k, fb.poly_lo[static_cast<size_t>(k - 1)], fb.poly_hi[static_cast<size_t>(k - 1)]);
    for (int k = 0; k < half; ++k)
      taps.add(o + k, fb.poly_lo[static_cast<size_t>(half + k)],
               fb.poly_hi[static_cast<size_t>(half + k)]);
    for (int64_t s0 = begin; s0 < end; s0 += k_strip) {
      const int64_t s1 = std::min(end, s0 + k_strip);
      const int64_t base = 2 * s0 + 2 - f, rows = 2 * (s1 - s0) + f - 2;
      for (int64_t k = 0; k < rows; ++k)
        analysis_row(src.row(symmetric_index(base + k, h)), w, f, e, o, m, taps, fir2,
                     lo + k * bw, hi + k * bw, bw);
      // Along axis 0: output row r sums extended rows 2r + 1 - j.
      for (int64_t r = s0; r < s1; ++r) {
        TapList tl, th;
        for (int j = 0; j < f; ++j) {
          const int64_t k = 2 * r + 1 - j - base;
          const float cl = fb.dec_lo[static_cast<size_t>(j)], ch = fb.dec_hi[static_cast<size_t>(j)];
          tl.add(lo + k * bw, cl, ch);
          th.add(hi + k * bw, cl, ch);
        }
        tl.run(fir2, aa.row(r), det.h.row(r), bw);
        th.run(fir2, det.v.row(r), det.d.row(r), bw);
        if (energy) {
          const Plane* bands[3] = {&det.h, &det.v, &det.d};
          for (int k = 0; k < 3; ++k)
            rowsum[static_cast<size_t>(3 * r + k)] = sum_squares(bands[k]->row(r), bw);
        }
      }
    }
  });
  if (energy) {
    *energy = BandEnergy{};
    for (int64_t r = 0; r < bh; ++r)
      for (int k = 0; k < 3; ++k) energy->sumsq[k] += rowsum[static_cast<size_t>(3 * r + k)];
  }
}

// One synthesis level: bands (bh x bw) -> the window of dst's size at (oy, ox) of the output.
void synthesis_level(const Plane& aa, const DetailBands& det, const FilterBank& fb,
                     const Plane& dst, int64_t oy, int64_t ox, ThreadPool* pool, Fir2 fir2) {
  const int half = fb.length / 2;
  const int64_t bw = aa.width;
  const int64_t p0 = oy / 2, p1 = (oy + dst.height - 1) / 2;  // row pairs touched
  const int64_t q0 = ox / 2, q1 = (ox + dst.width - 1) / 2;    // column pairs touched
  const int64_t nq = q1 - q0 + 1;
  run_rows(pool, p1 - p0 + 1, std::max<int64_t>(1, row_grain(2 * bw) / 2),
           [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>(4 * bw + 2 * nq));
    float* le = scratch.data();  // low-pass along axis 1, output rows 2p and 2p + 1
    float* lodd = le + bw;
    float* he = lodd + bw;  // high-pass along axis 1
    float* hodd = he + bw;
    float* ev = hodd + bw;  // an output row's even and odd samples
    float* od = ev + nq;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t p = p0 + i;
      TapList tl, th;
      for (int k = 0; k < half; ++k) {
        const auto ke = static_cast<size_t>(k), kd = static_cast<size_t>(half + k);
        tl.add(aa.row(p + k), fb.syn_even[ke], fb.syn_odd[ke]);
        th.add(det.v.row(p + k), fb.syn_even[ke], fb.syn_odd[ke]);
        tl.add(det.h.row(p + k), fb.syn_even[kd], fb.syn_odd[kd]);
        th.add(det.d.row(p + k), fb.syn_even[kd], fb.syn_odd[kd]);
      }
      tl.run(fir2, le, lodd, bw);
      th.run(fir2, he, hodd, bw);
      for (int par = 0; par < 2; ++par) {
        const int64_t y = 2 * p + par - oy;
        if (y < 0 || y >= dst.height) continue;
        const float* l = par ? lodd : le;
        const float* hh = par ? hodd : he;
        TapList tr;
        for (int k = 0; k < half; ++k) {
          const auto ke = static_cast<size_t>(k), kd = static_cast<size_t>(half + k);
          tr.add(l + q0 + k, fb.syn_even[ke], fb.syn_odd[ke]);
          tr.add(hh + q0 + k, fb.syn_even[kd], fb.syn_odd[kd]);
        }
        tr.run(fir2, ev, od, nq);
        // Interleave: output column x is sample x + ox, even ones from ev, odd ones from od.
        float* out = dst.row(y);
        const float* first = (ox & 1) ? od : ev;
        const float* second = (ox & 1) ? ev + 1 : od;
        const int64_t pairs = dst.width / 2;
        for (int64_t j = 0; j < pairs; ++j) {
          out[2 * j] = first[j];
          out[2 * j + 1] = second[j];
        }
        if (dst.width & 1) out[dst.width - 1] = first[pairs];
      }
    }
  });
}

}  // namespace

FilterBank::FilterBank(const Wavelet& w) : length(w.length) {
  if (length < 2 || length % 2 != 0 || length > k_max_taps)
    throw std::invalid_argument("wavelet filters must have an even length between 2 and " +
                                std::to_string(k_max_taps));
  const auto f = static_cast<size_t>(length), half = f / 2;
  for (size_t j = 0; j < f; ++j) {
    dec_lo.push_back(static_cast<float>(w.dec_lo[j]));
    dec_hi.push_back(static_cast<float>(w.dec_hi[j]));
  }
  poly_lo.resize(f);
  poly_hi.resize(f);
  syn_even.resize(f);
  syn_odd.resize(f);
  for (size_t k = 0; k < half; ++k) {
    poly_lo[k] = dec_lo[f - 2 * (k + 1)];  // E[o + k + 1]
    poly_hi[k] = dec_hi[f - 2 * (k + 1)];
    poly_lo[half + k] = dec_lo[f - 1 - 2 * k];  // O[o + k]
    poly_hi[half + k] = dec_hi[f - 1 - 2 * k];
    syn_even[k] = static_cast<float>(w.rec_lo[f - 2 - 2 * k]);
    syn_even[half + k] = static_cast<float>(w.rec_hi[f - 2 - 2 * k]);
    syn_odd[k] = static_cast<float>(w.rec_lo[f - 1 - 2 * k]);
    syn_odd[half + k] = static_cast<float>(w.rec_hi[f - 1 - 2 * k]);
  }
}

int max_level(int64_t n, int filter_len) {
  if (filter_len <= 1 || n < filter_len - 1) return 0;
  int level = 0;
  for (int64_t q = n / (filter_len - 1); q > 1; q /= 2) ++level;
  return level;
}

Pyramid::Pyramid(int64_t height, int64_t width, int filter_len, int levels) {
  int64_t total = 0, h = height, w = width;
  for (int l = 0; l < levels; ++l) {
    h = coeff_len(h, filter_len);
    w = coeff_len(w, filter_len);
    total += 3 * h * w;
  }
  total += h * w;
  storage_ = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(total));
  float* p = storage_.get();
  h = height;
  w = width;
  for (int l = 0; l < levels; ++l) {
    h = coeff_len(h, filter_len);
    w = coeff_len(w, filter_len);
    DetailBands d;
    for (Plane* b : {&d.h, &d.v, &d.d}) {
      *b = Plane{p, h, w, w};
      p += h * w;
    }
    details_.push_back(d);
  }
  approx_ = Plane{p, h, w, w};
}

void dwt2(const Plane& src, const FilterBank& fb, const Plane& approx,
          std::span<const DetailBands> details, ThreadPool* pool, std::span<BandEnergy> energy) {
  const int f = fb.length;
  const auto levels = static_cast<int64_t>(details.size());
  if (!energy.empty() && static_cast<int64_t>(energy.size()) != levels)
    throw std::invalid_argument("dwt2: one BandEnergy per level expected");
  int64_t h = src.height, w = src.width;
  for (const DetailBands& d : details) {
    h = coeff_len(h, f);
    w = coeff_len(w, f);
    if (!same_size(d.h, h, w) || !same_size(d.v, h, w) || !same_size(d.d, h, w))
      throw std::invalid_argument("dwt2: detail bands must be " + size_string(h, w));
  }
  if (!same_size(approx, h, w))
    throw std::invalid_argument("dwt2: the approximation must be " + size_string(h, w));
  const Fir2 fir2 = pick_fir2();
  if (levels == 0) {
    for (int64_t y = 0; y < h; ++y) std::copy(src.row(y), src.row(y) + w, approx.row(y));
    return;
  }
  // Intermediate approximations alternate between two buffers as large as the largest band
  // (bands shrink level by level, except on images smaller than the filter).
  const auto most = static_cast<int64_t>(largest_band(details));
  const int64_t spare = levels > 2 ? 2 * most : levels > 1 ? most : 0;
  auto scratch = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(spare));
  float* ping = scratch.get();
  float* pong = ping + most;
  Plane cur = src;
  for (int64_t l = 0; l < levels; ++l) {
    const DetailBands& d = details[static_cast<size_t>(l)];
    Plane out = approx;
    if (l + 1 < levels) out = Plane{(l % 2 == 0) ? ping : pong, d.h.height, d.h.width, d.h.width};
    analysis_level(cur, fb, out, d, pool,
                   energy.empty() ? nullptr : &energy[static_cast<size_t>(l)], fir2);
    cur = out;
  }
}

void idwt2(const Plane& approx, std::span<const DetailBands> details, const FilterBank& fb,
           const Plane& dst, ThreadPool* pool, int64_t origin_y, int64_t origin_x) {
  const int f = fb.length;
  const auto levels = static_cast<int64_t>(details.size());
  if (origin_y < 0 || origin_x < 0) throw std::invalid_argument("idwt2: negative origin");
  if (levels == 0) {
    if (origin_y + dst.height > approx.height || origin_x + dst.width > approx.width)
      throw std::invalid_argument("idwt2: the output window lies outside the coefficients");
    for (int64_t y = 0; y < dst.height; ++y)
      std::copy(approx.row(y + origin_y) + origin_x, approx.row(y + origin_y) + origin_x + dst.width,
                dst.row(y));
    return;
  }
  for (int64_t l = 0; l < levels; ++l) {
    const DetailBands& d = details[static_cast<size_t>(l)];
    const int64_t bh = d.h.height, bw = d.h.width;
    if (!same_size(d.v, bh, bw) || !same_size(d.d, bh, bw))
      throw std::invalid_argument("idwt2: the detail bands of level " + std::to_string(l + 1) +
                                  " differ in size");
    const int64_t th = l == 0 ? dst.height + origin_y : details[static_cast<size_t>(l - 1)].h.height;
    const int64_t tw = l == 0 ? dst.width + origin_x : details[static_cast<size_t>(l - 1)].h.width;
    if (th > rec_len(bh, f) || tw > rec_len(bw, f) || th < 1 || tw < 1)
      throw std::invalid_argument("idwt2: level " + std::to_string(l + 1) + " bands of " +
                                  size_string(bh, bw) + " cannot give " + size_string(th, tw));
  }
  if (!same_size(approx, details.back().h.height, details.back().h.width))
    throw std::invalid_argument("idwt2: the approximation must be as large as the coarsest bands");
  const Fir2 fir2 = pick_fir2();
  const auto most = static_cast<int64_t>(largest_band(details));
  const int64_t spare = levels > 2 ? 2 * most : levels > 1 ? most : 0;
  auto scratch = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(spare));
  float* ping = scratch.get();
  float* pong = ping + most;
  Plane cur = approx;
  for (int64_t l = levels - 1; l >= 0; --l) {
    const DetailBands& d = details[static_cast<size_t>(l)];
    if (l == 0) {
      synthesis_level(cur, d, fb, dst, origin_y, origin_x, pool, fir2);
    } else {
      const DetailBands& next = details[static_cast<size_t>(l - 1)];
      float* buf = (l % 2 == 1) ? ping : pong;
      const Plane out{buf, next.h.height, next.h.width, next.h.width};
      synthesis_level(cur, d, fb, out, 0, 0, pool, fir2);
      cur = out;
    }
  }
}

const char* dwt_simd_level() { return cpu_has_avx2() ? "avx2" : "baseline"; }

}  // namespace imgen::wavelet
