// BM3D driver: conversion to planar float, padding, the colour transform, the tiling of the
// reference blocks into passes, and the choice of SIMD level.
#include "bm3d/bm3d.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "bm3d/bm3d_impl.hpp"
#include "common/cpu_features.hpp"
#include "preprocess/convert.hpp"

namespace imgen::bm3d {

namespace {

using detail::kPlanePad;
using detail::Scratch;
using detail::StageJob;
using detail::Tile;

// Reference blocks per tile: rows x columns.  Tiles whose blocks can reach the same pixels never
// run at the same time (see run_stage): at the default parameters 8 x 16 references need 3 x 2
// passes.  Block matching works along a tile row, so wide tiles waste less of its vector work at
// the tile's edges; short tiles give each pass enough of them to keep the threads busy.
constexpr int64_t kTileRows = 8;
constexpr int64_t kTileCols = 16;

void run(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool)
    pool->parallel_for(n, grain, fn);
  else
    fn(0, n);
}

bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Range checks, in the order validate() reports them.  Keywords are the Python keywords.
class Checker {
 public:
  explicit Checker(const std::map<std::string, std::string>* given) : given_(given) {}

  void check(const std::string& keyword, bool ok, const std::string& range, const std::string& value) {
    if (ok) return;
    std::string shown = value;
    if (given_) {
      const auto it = given_->find(keyword);
      if (it != given_->end()) shown = it->second;
    }
    throw std::invalid_argument(keyword + " must be " + range + ", got " + shown);
  }
  void number(const std::string& keyword, double v, double hi) {
    // !(a && b) also rejects NaN
    check(keyword, v >= 0 && v <= hi, "in [0, " + format_number(hi) + "]", format_number(v));
  }
  void integer(const std::string& keyword, int64_t v, int64_t lo, int64_t hi, const std::string& note = "") {
    check(keyword, v >= lo && v <= hi,
          "in " + std::to_string(lo) + ".." + std::to_string(hi) + note, std::to_string(v));
  }

 private:
  const std::map<std::string, std::string>* given_;
};

void validate_stage(const StageParams& s, const char* stage, Checker& c) {
  const auto name = [stage](const char* field) { return std::string(field) + "_" + stage; };
  c.integer(name("block_size"), s.block_size, 2, 16);
  // Reference blocks every `step` pixels cover every pixel only when step <= block_size (the
  // aggregation divides by the covering weight, 0 elsewhere).
  c.integer(name("step"), s.step, 1, s.block_size, " (at most " + name("block_size") + ")");
  c.check(name("search_window"),
          s.search_window >= 1 && s.search_window <= kMaxSearchWindow && s.search_window % 2 == 1,
          "odd, in 1.." + std::to_string(kMaxSearchWindow), std::to_string(s.search_window));
  c.check(name("max_blocks"), s.max_blocks >= 1 && s.max_blocks <= 64 && is_pow2(s.max_blocks),
          "a power of two in 1..64", std::to_string(s.max_blocks));
  c.number(name("tau_match"), s.tau_match, kMaxTauMatch);
  c.number(name("beta"), s.beta, kMaxBeta);
  c.check(name("transform"), s.transform != Transform2D::bior15 || s.block_size == 8,
          "'dct' for " + name("block_size") + " " + std::to_string(s.block_size) +
              " (bior1.5 needs " + name("block_size") + " 8)",
          "'bior1.5'");
}

// Top-left coordinates of the reference blocks along an axis of `len` pixels: every `step`, and
// the last block position always.
std::vector<int64_t> ref_positions(int64_t len, int n, int64_t step) {
  std::vector<int64_t> v;
  for (int64_t p = 0; p <= len - n; p += step) v.push_back(p);
  if (v.back() != len - n) v.push_back(len - n);
  return v;
}

// The smallest number of colours P such that tiles t and t + P (`per_tile` references each) can
// never write the same pixel: a reference at r aggregates blocks in rows [r - half, r + half + n).
int64_t colours_needed(const std::vector<int64_t>& refs, int64_t per_tile, int64_t half, int n) {
  const int64_t count = static_cast<int64_t>(refs.size());
  const int64_t tiles = (count + per_tile - 1) / per_tile;
  for (int64_t p = 1; p < tiles; ++p) {
    bool ok = true;
    for (int64_t t = 0; t + p < tiles && ok; ++t) {
      const int64_t last = refs[static_cast<size_t>(std::min(count, (t + 1) * per_tile) - 1)];
      const int64_t first = refs[static_cast<size_t>((t + p) * per_tile)];
      ok = first - half >= last + half + n;
    }
    if (ok) return p;
  }
  return std::max<int64_t>(tiles, 1);
}

using TileKernel = void (*)(const StageJob&, const Tile&, const Scratch&);

// Runs one stage and returns its estimate: `pad` floats, `channels` height x width planes one
// after the other, `pad` floats (the layout of the noisy planes).
std::vector<float> run_stage(StageJob job, const StageParams& sp, int64_t height, int64_t width,
                             size_t pad, ThreadPool* pool) {
  // The parameters were validated: they fit the kernels' int / float fields.
  const int n = static_cast<int>(sp.block_size);
  const int C = job.channels;
  const size_t plane = static_cast<size_t>(height * width);
  std::vector<float> num(plane * static_cast<size_t>(C) + 2 * pad, 0.0f);
  std::vector<float> den(plane * static_cast<size_t>(C), 0.0f);
  for (int c = 0; c < C; ++c) {
    job.num[c] = num.data() + pad + plane * static_cast<size_t>(c);
    job.den[c] = den.data() + plane * static_cast<size_t>(c);
  }
  const TransformMatrix tm = make_transform(sp.transform, n);
  const size_t nn = static_cast<size_t>(n * n);
  std::vector<float> fwd_t(nn), inv_t(nn);
  for (size_t i = 0; i < static_cast<size_t>(n); ++i)
    for (size_t j = 0; j < static_cast<size_t>(n); ++j) {
      fwd_t[j * static_cast<size_t>(n) + i] = tm.forward[i * static_cast<size_t>(n) + j];
      inv_t[j * static_cast<size_t>(n) + i] = tm.inverse[i * static_cast<size_t>(n) + j];
    }
  const std::vector<float> window = kaiser_window_2d(n, static_cast<float>(sp.beta));
  // Exact variances (see StageJob::autocorr): the 2-D basis function (i, j) is row i times row j
  // of the forward matrix, so its autocorrelation at (dy, dx) is a_i(dy) a_j(dx), with a_i the
  // autocorrelation of row i.
  const int D = 2 * n - 1;
  std::vector<double> a1(static_cast<size_t>(n * D), 0.0);
  for (int i = 0; i < n; ++i)
    for (int d = -(n - 1); d < n; ++d) {
      double acc = 0;
      for (int u = std::max(0, -d); u < std::min(n, n - d); ++u)
        acc += static_cast<double>(tm.forward[static_cast<size_t>(i * n + u)]) *
               tm.forward[static_cast<size_t>(i * n + u + d)];
      a1[static_cast<size_t>(i * D + d + n - 1)] = acc;
    }
  std::vector<float> autocorr(static_cast<size_t>(D * D) * nn);
  for (int dy = 0; dy < D; ++dy)
    for (int dx = 0; dx < D; ++dx)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          autocorr[static_cast<size_t>(dy * D + dx) * nn + static_cast<size_t>(i * n + j)] =
              static_cast<float>(a1[static_cast<size_t>(i * D + dy)] * a1[static_cast<size_t>(j * D + dx)]);
  // The Haar matrices along the group, read off the kernels' own transform of unit vectors.
  std::vector<float> haar;
  for (int64_t g = 1; g <= sp.max_blocks; g *= 2) {
    std::vector<float> eye(static_cast<size_t>(g * g), 0.0f);
    for (int64_t m = 0; m < g; ++m) eye[static_cast<size_t>(m * g + m)] = 1.0f;
    haar_group(eye.data(), static_cast<int>(g), static_cast<int>(g), false);
    haar.insert(haar.end(), eye.begin(), eye.end());
  }
  job.autocorr = autocorr.data();
  job.haar = haar.data();
  const std::vector<int64_t> rows = ref_positions(height, n, sp.step);
  const std::vector<int64_t> cols = ref_positions(width, n, sp.step);
  job.block = n;
  job.half_window = static_cast<int>((sp.search_window - 1) / 2);
  job.max_blocks = static_cast<int>(sp.max_blocks);
  job.tau_ssd = static_cast<float>(sp.tau_match) * static_cast<float>(n * n);
  job.fwd = tm.forward.data();
  job.fwd_t = fwd_t.data();
  job.inv = tm.inverse.data();
  job.inv_t = inv_t.data();
  job.window = window.data();
  job.ref_rows = rows.data();
  job.ref_cols = cols.data();

  const int64_t nrows = static_cast<int64_t>(rows.size()), ncols = static_cast<int64_t>(cols.size());
  const int64_t tiles_y = (nrows + kTileRows - 1) / kTileRows;
  const int64_t tiles_x = (ncols + kTileCols - 1) / kTileCols;
  const int64_t py = colours_needed(rows, kTileRows, job.half_window, n);
  const int64_t px = colours_needed(cols, kTileCols, job.half_window, n);
  int64_t max_span = 0;
  for (int64_t tx = 0; tx < tiles_x; ++tx) {
    const int64_t b = tx * kTileCols, e = std::min(ncols, b + kTileCols);
    max_span = std::max(max_span, cols[static_cast<size_t>(e - 1)] + n - cols[static_cast<size_t>(b)]);
  }
  const TileKernel kernel = cpu_has_avx2() ? &avx2::process_tile : &baseline::process_tile;
  const size_t K = static_cast<size_t>(sp.max_blocks);

  // Tiles of one colour (ty % py, tx % px) write disjoint pixels, and each tile adds its blocks
  // in a fixed order, so every pixel receives its contributions in the same order whatever the
  // number of threads: the result does not depend on it.
  std::vector<Tile> tiles;
  for (int64_t cy = 0; cy < py; ++cy) {
    for (int64_t cx = 0; cx < px; ++cx) {
      tiles.clear();
      for (int64_t ty = cy; ty < tiles_y; ty += py)
        for (int64_t tx = cx; tx < tiles_x; tx += px)
          tiles.push_back(Tile{ty * kTileRows, std::min(nrows, (ty + 1) * kTileRows),
                               tx * kTileCols, std::min(ncols, (tx + 1) * kTileCols)});
      run(pool, static_cast<int64_t>(tiles.size()), 1, [&](int64_t b, int64_t e) {
        const size_t refs = static_cast<size_t>(kTileCols);
        const size_t span = static_cast<size_t>(max_span) + 64;
        std::vector<float> dist(refs * K), limit(span);
        std::vector<int64_t> pos(refs * K);
        std::vector<int32_t> count(refs), ref_at(span);
        std::vector<float> diff(span * 8);
        std::vector<float> group(K * nn), group2(K * nn), block(2 * nn), var(K * nn);
        const Scratch s{dist.data(), pos.data(),   count.data(),  limit.data(),
                        ref_at.data(), diff.data(), group.data(),
                        group2.data(), block.data(), var.data()};
        for (int64_t t = b; t < e; ++t) kernel(job, tiles[static_cast<size_t>(t)], s);
      });
    }
  }
  // Every pixel is covered by a reference block (the last row and column always are), so den > 0.
  run(pool, height, 16, [&](int64_t b, int64_t e) {
    for (int c = 0; c < C; ++c)
      for (size_t i = static_cast<size_t>(b) * static_cast<size_t>(width);
           i < static_cast<size_t>(e) * static_cast<size_t>(width); ++i)
        job.num[c][i] /= job.den[c][i];
  });
  return num;
}

template <class T>
float sample(const ImageView& v, int64_t y, int64_t x, int64_t c) {
  return static_cast<float>(v.row<const T>(y)[x * v.channels + c]);
}


// src -> planar float (0-255 scale) of height x width (>= the image: reflected), row by row.
// Returns false when a sample is not finite.
template <class T>
bool load_rows(const ImageView& src, float scale, int64_t height, int64_t width, float* const* planes,
               int64_t y0, int64_t y1) {
  bool finite = true;
  for (int64_t y = y0; y < y1; ++y) {
    const int64_t sy = reflect_index(y, src.height);
    for (int64_t c = 0; c < src.channels; ++c) {
      float* out = planes[c] + y * width;
      for (int64_t x = 0; x < width; ++x) {
        const float v = sample<T>(src, sy, reflect_index(x, src.width), c) * scale;
        finite &= std::isfinite(v);
        out[x] = v;
      }
    }
  }
  (void)height;
  return finite;
}

template <class T>
void store_rows(const ImageView& dst, float scale, int64_t width, const float* const* planes,
                int64_t y0, int64_t y1) {
  const float white = static_cast<float>(white_level(dst.dtype));
  for (int64_t y = y0; y < y1; ++y) {
    T* row = dst.row<T>(y);
    for (int64_t c = 0; c < dst.channels; ++c) {
      const float* in = planes[c] + y * width;
      for (int64_t x = 0; x < dst.width; ++x) {
        float v = in[x] * scale;
        if constexpr (std::is_integral_v<T>) {
          v = std::nearbyint(std::min(std::max(v, 0.0f), white));
        }
        row[x * dst.channels + c] = static_cast<T>(v);
      }
    }
  }
}

// Opponent colour transform of the reference CBM3D: Y = (R + G + B) / 3, U = (R - B) / 2,
// V = (R - 2G + B) / 4, and its inverse.
void to_opponent(float* const* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float r = p[0][i], g = p[1][i], b = p[2][i];
    p[0][i] = (r + g + b) / 3.0f;
    p[1][i] = (r - b) * 0.5f;
    p[2][i] = (r - 2.0f * g + b) * 0.25f;
  }
}

void from_opponent(float* const* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float y = p[0][i], u = p[1][i], v = p[2][i];
    p[0][i] = y + u + v * (2.0f / 3.0f);
    p[1][i] = y - v * (4.0f / 3.0f);
    p[2][i] = y - u + v * (2.0f / 3.0f);
  }
}

}  // namespace

Params default_params(double sigma) {
  Params p;
  p.sigma = sigma;
  const double s255 = sigma * 255.0;
  // Two noisy copies of one block differ by 2 sigma^2 per pixel on average, so a fixed tau_match
  // leaves groups unfilled at high noise (at sigma 50, 5000 > 3000): 6.4 sigma^2 keeps them full,
  // as the reference's tau_match * (noisy image range)^2 does for unclipped noisy floats.
  p.hard.tau_match = std::max(3000.0, 6.4 * s255 * s255);
  // Compared in float on the 0-255 scale, as the kernels see sigma (the profile switch at 40).
  if (static_cast<float>(s255) > 40.0f) {
    p.lambda_3d = 2.8;
    p.mu2 = 0.6;
    // Step 4 in the Wiener stage: a third less time for 0.007 dB (Set12 at sigma 50).
    p.wiener.step = 4;
  } else {
    // 16 blocks in a Wiener group are as good as 32 here (Set12 +0.01 dB) and a third faster.
    p.wiener.max_blocks = 16;
  }
  return p;
}

void validate(const Params& p, const std::map<std::string, std::string>* given) {
  Checker c(given);
  c.check("sigma", p.sigma >= 0 && p.sigma <= kMaxSigma,
          "in [0, 1], a fraction of the full range (25 on the 0-255 scale is 25/255 = 0.098)",
          format_number(p.sigma));
  c.number("lambda_3d", p.lambda_3d, kMaxLambda3d);
  c.number("mu2", p.mu2, kMaxMu2);
  if (p.stages != Stages::wiener) validate_stage(p.hard, "hard", c);
  if (p.stages != Stages::hard) validate_stage(p.wiener, "wiener", c);
}

const char* simd_level() { return cpu_has_avx2() ? "avx2" : "baseline"; }

void denoise(const ImageView& src, const ImageView& dst, const Params& p, ThreadPool* pool,
             const ImageView* pilot) {
  validate(p);
  if ((p.stages == Stages::wiener) != (pilot != nullptr))
    throw std::invalid_argument(pilot ? "bm3d: a pilot is only used by stage 'wiener'"
                                      : "bm3d: stage 'wiener' needs a pilot (a basic estimate)");
  if (pilot && (pilot->height != src.height || pilot->width != src.width ||
                pilot->channels != src.channels))
    throw std::invalid_argument("bm3d: the pilot must have the shape of the image");
  if (src.channels != 1 && src.channels != 3)
    throw std::invalid_argument("bm3d supports 1 (gray) or 3 (colour) channels, got " +
                                std::to_string(src.channels));
  if (dst.height != src.height || dst.width != src.width || dst.channels != src.channels)
    throw std::invalid_argument("bm3d: dst must have the shape of src");
  if (src.height <= 0 || src.width <= 0) return;
  const int C = static_cast<int>(src.channels);
  const bool hard = p.stages != Stages::wiener, wiener = p.stages != Stages::hard;
  int64_t nmax = hard ? p.hard.block_size : p.wiener.block_size;
  if (wiener) nmax = std::max(nmax, p.wiener.block_size);
  const int64_t H = std::max<int64_t>(src.height, nmax), W = std::max<int64_t>(src.width, nmax);
  const size_t plane = static_cast<size_t>(H * W);
  // Padding before and after the planes: vector loops of block matching read up to a search
  // window's half width plus a vector outside a row (those lanes are discarded).
  int64_t max_half = ((hard ? p.hard.search_window : p.wiener.search_window) - 1) / 2;
  if (wiener) max_half = std::max(max_half, (p.wiener.search_window - 1) / 2);
  const size_t pad = static_cast<size_t>(std::max<int64_t>(kPlanePad, max_half + 24));
  const size_t total = plane * static_cast<size_t>(C) + 2 * pad;

  // src (or the pilot) -> planar float planes on the 0-255 scale, padded; throws on a
  // non-finite sample.
  const auto load = [&](const ImageView& img, const char* what) {
    std::vector<float> buf(total, 0.0f);
    float* planes[3] = {};
    for (int c = 0; c < C; ++c) planes[c] = buf.data() + pad + plane * static_cast<size_t>(c);
    const float to255 = static_cast<float>(255.0 / white_level(img.dtype));
    std::vector<char> finite_rows(static_cast<size_t>(H), 1);
    run(pool, H, 32, [&](int64_t b, int64_t e) {
      bool ok = true;
      switch (img.dtype) {
        case DType::u8: ok = load_rows<uint8_t>(img, to255, H, W, planes, b, e); break;
        case DType::u16: ok = load_rows<uint16_t>(img, to255, H, W, planes, b, e); break;
        case DType::f32: ok = load_rows<float>(img, to255, H, W, planes, b, e); break;
        default: throw std::invalid_argument(std::string("bm3d: ") + what + " must be uint8, uint16 or float32");
      }
      if (!ok) finite_rows[static_cast<size_t>(b)] = 0;
    });
    if (std::find(finite_rows.begin(), finite_rows.end(), 0) != finite_rows.end())
      throw std::invalid_argument(
          std::string("bm3d: ") + what + " contains NaN or infinite values (or float32 values beyond +-1.3e36, which "
          "overflow on the 0-255 scale)");
    return buf;
  };
  std::vector<float> noisy = load(src, "image");
  float* np[3] = {};
  for (int c = 0; c < C; ++c) np[c] = noisy.data() + pad + plane * static_cast<size_t>(c);
  std::vector<float> given_pilot;
  if (pilot) given_pilot = load(*pilot, "pilot");
  const float sigma = static_cast<float>(p.sigma * 255.0);  // on the 0-255 scale of the kernels
  if (sigma == 0.0f && src.dtype == dst.dtype) {  // nothing to remove: an exact copy
    // (after the check for non-finite pixels, which sigma = 0 does not waive)
    const size_t item = dtype_size(src.dtype);
    const size_t row = static_cast<size_t>(src.width * src.channels) * item;
    for (int64_t y = 0; y < src.height; ++y)
      std::memcpy(static_cast<char*>(dst.data) + static_cast<size_t>(y * dst.row_stride) * item,
                  static_cast<const char*>(src.data) + static_cast<size_t>(y * src.row_stride) * item, row);
    return;
  }

  std::vector<float> result;
  if (sigma == 0.0f) {
    result = std::move(noisy);
  } else {
    StageJob job;
    job.height = H;
    job.width = W;
    job.channels = C;
    if (C == 3) {
      to_opponent(np, plane);
      if (pilot) {
        float* pp[3] = {};
        for (int c = 0; c < C; ++c) pp[c] = given_pilot.data() + pad + plane * static_cast<size_t>(c);
        to_opponent(pp, plane);
      }
      // Noise of standard deviation sigma in R, G, B has sigma * ||row of the transform|| in each
      // opponent channel.
      job.sigma[0] = sigma * std::sqrt(1.0f / 3.0f);
      job.sigma[1] = sigma * std::sqrt(0.5f);
      job.sigma[2] = sigma * std::sqrt(0.375f);
    } else {
      job.sigma[0] = sigma;
    }
    const float lambda_3d = static_cast<float>(p.lambda_3d), mu2 = static_cast<float>(p.mu2);
    for (int c = 0; c < C; ++c) {
      job.noisy[c] = np[c];
      job.threshold[c] = lambda_3d * job.sigma[c];
      job.wiener_s2[c] = std::max(mu2 * job.sigma[c] * job.sigma[c], 1e-30f);
    }
    job.match = np[0];
    if (hard) result = run_stage(job, p.hard, H, W, pad, pool);
    if (wiener) {
      const std::vector<float> basic = hard ? std::move(result) : std::move(given_pilot);
      for (int c = 0; c < C; ++c)
        job.pilot[c] = basic.data() + pad + plane * static_cast<size_t>(c);
      job.match = job.pilot[0];
      job.wiener = true;
      result = run_stage(job, p.wiener, H, W, pad, pool);
    }
  }
  float* rp[3] = {};
  for (int c = 0; c < C; ++c) rp[c] = result.data() + pad + plane * static_cast<size_t>(c);
  if (C == 3 && sigma != 0.0f) from_opponent(rp, plane);

  const float from255 = static_cast<float>(white_level(dst.dtype) / 255.0);
  run(pool, dst.height, 32, [&](int64_t b, int64_t e) {
    switch (dst.dtype) {
      case DType::u8: store_rows<uint8_t>(dst, from255, W, rp, b, e); break;
      case DType::u16: store_rows<uint16_t>(dst, from255, W, rp, b, e); break;
      case DType::f32: store_rows<float>(dst, from255, W, rp, b, e); break;
      default: throw std::invalid_argument("bm3d: output must be uint8, uint16 or float32");
    }
  });
}

void transform_blocks(Transform2D t, int n, bool inverse, const float* src, float* dst,
                      int64_t count) {
  if (n < 2 || n > 16) throw std::invalid_argument("block size must be in 2..16");
  const TransformMatrix tm = make_transform(t, n);
  const std::vector<float>& m = inverse ? tm.inverse : tm.forward;
  std::vector<float> mt(m.size());
  for (size_t i = 0; i < static_cast<size_t>(n); ++i)
    for (size_t j = 0; j < static_cast<size_t>(n); ++j)
      mt[j * static_cast<size_t>(n) + i] = m[i * static_cast<size_t>(n) + j];
  if (cpu_has_avx2())
    avx2::transform_blocks(m.data(), mt.data(), n, src, dst, count);
  else
    baseline::transform_blocks(m.data(), mt.data(), n, src, dst, count);
}

void haar_group(float* data, int count, int len, bool inverse) {
  if (!is_pow2(count)) throw std::invalid_argument("group size must be a power of two");
  if (cpu_has_avx2())
    avx2::haar_group(data, count, len, inverse);
  else
    baseline::haar_group(data, count, len, inverse);
}

}  // namespace imgen::bm3d
