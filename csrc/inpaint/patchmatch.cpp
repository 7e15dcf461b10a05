// PatchMatch inpainting (see patchmatch.hpp): the field search, the vote and the multi-scale driver.
#include "inpaint/patchmatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "inpaint/inpaint_impl.hpp"

namespace imgen::inpaint {

namespace {

using detail::Level;
using detail::Rng;

// The nearest-neighbour field of one level: for every target centre, its source centre and the
// mean squared difference of the two patches (over the target's in-image pixels and channels).
struct Field {
  std::vector<int32_t> sy, sx;
  std::vector<float> dist;
  void resize(size_t n) {
    sy.assign(n, 0);
    sx.assign(n, 0);
    dist.assign(n, std::numeric_limits<float>::infinity());
  }
};

uint64_t key(uint64_t seed, int64_t level, int64_t round, int64_t pass, int64_t pixel) {
  uint64_t k = detail::mix(seed);
  k = detail::mix(k ^ static_cast<uint64_t>(level));
  k = detail::mix(k ^ static_cast<uint64_t>(round));
  k = detail::mix(k ^ static_cast<uint64_t>(pass));
  return k ^ static_cast<uint64_t>(pixel);
}

// Mean squared difference of the patches centred on target (ty, tx) and source (sy, sx); stops
// early (returning a value >= limit) once the partial sum passes limit.
float patch_distance(const Level& L, int r, int64_t ty, int64_t tx, int64_t sy, int64_t sx, float limit) {
  const int64_t y0 = std::max<int64_t>(-r, -ty), y1 = std::min<int64_t>(r, L.h - 1 - ty);
  const int64_t x0 = std::max<int64_t>(-r, -tx), x1 = std::min<int64_t>(r, L.w - 1 - tx);
  const int64_t span = (x1 - x0 + 1) * L.c;
  const float count = static_cast<float>((y1 - y0 + 1) * span);
  const float bound = limit * count;
  float ssd = 0.0f;
  for (int64_t dy = y0; dy <= y1; ++dy) {
    const float* a = L.img.data() + ((ty + dy) * L.w + tx + x0) * L.c;
    const float* b = L.img.data() + ((sy + dy) * L.w + sx + x0) * L.c;
    float row = 0.0f;
    for (int64_t k = 0; k < span; ++k) {
      const float d = a[k] - b[k];
      row += d * d;
    }
    ssd += row;
    if (ssd >= bound) return std::numeric_limits<float>::infinity();
  }
  return ssd / count;
}

// A uniformly random source centre (the level has at least one).
void random_source(const Level& L, Rng& rng, int32_t& sy, int32_t& sx, const std::vector<int64_t>& sources) {
  const int64_t i = sources[static_cast<size_t>(rng.range(0, static_cast<int64_t>(sources.size()) - 1))];
  sy = static_cast<int32_t>(i / L.w);
  sx = static_cast<int32_t>(i % L.w);
}

// One propagation + random-search pass over all targets, reading `in` and writing `out`.
void search_pass(const Level& L, int r, const Field& in, Field& out, int64_t jump, uint64_t pass_key,
                 ThreadPool* pool) {
  const int64_t rmax = std::max(L.h, L.w);
  run_rows(pool, L.h, 4, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      for (int64_t x = 0; x < L.w; ++x) {
        const size_t i = static_cast<size_t>(L.index(y, x));
        if (!L.target[i]) continue;
        int32_t by = in.sy[i], bx = in.sx[i];
        float best = in.dist[i];
        const auto consider = [&](int64_t cy, int64_t cx) {
          if (cy < r || cy >= L.h - r || cx < r || cx >= L.w - r) return;
          if (cy == by && cx == bx) return;
          if (!L.source[static_cast<size_t>(L.index(cy, cx))]) return;
          const float d = patch_distance(L, r, y, x, cy, cx, best);
          if (d < best) {
            best = d;
            by = static_cast<int32_t>(cy);
            bx = static_cast<int32_t>(cx);
          }
        };
        // Propagation: the neighbours' matches, shifted back by the neighbour's offset.
        static constexpr int kDirs[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
        for (const auto& dir : kDirs) {
          const int64_t ny = y + dir[0] * jump, nx = x + dir[1] * jump;
          if (ny < 0 || ny >= L.h || nx < 0 || nx >= L.w) continue;
          const size_t j = static_cast<size_t>(L.index(ny, nx));
          if (!L.target[j]) continue;
          consider(in.sy[j] - dir[0] * jump, in.sx[j] - dir[1] * jump);
        }
        // Random search around the best match, over halving radii.
        Rng rng(pass_key ^ static_cast<uint64_t>(i));
        for (int64_t radius = rmax; radius >= 1; radius /= 2) {
          const int64_t cy = std::clamp<int64_t>(by + rng.range(-radius, radius), r, L.h - 1 - r);
          const int64_t cx = std::clamp<int64_t>(bx + rng.range(-radius, radius), r, L.w - 1 - r);
          consider(cy, cx);
        }
        out.sy[i] = by;
        out.sx[i] = bx;
        out.dist[i] = best;
      }
    }
  });
}

// Recomputes every target's distance to its current match (the image changed in the vote).
void refresh_distances(const Level& L, int r, Field& f, ThreadPool* pool) {
  run_rows(pool, L.h, 4, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y)
      for (int64_t x = 0; x < L.w; ++x) {
        const size_t i = static_cast<size_t>(L.index(y, x));
        if (L.target[i])
          f.dist[i] = patch_distance(L, r, y, x, f.sy[i], f.sx[i], std::numeric_limits<float>::infinity());
      }
  });
}

// The vote: every missing pixel becomes the weighted mean of what the matches of the patches
// covering it put there; weight exp(-dist / (2 s^2)), s^2 the 75th percentile of the distances.
void vote(Level& L, int r, const Field& f, ThreadPool* pool) {
  std::vector<float> d;
  d.reserve(static_cast<size_t>(L.targets));
  for (size_t i = 0; i < L.target.size(); ++i)
    if (L.target[i]) d.push_back(f.dist[i]);
  const size_t q = d.size() * 3 / 4;
  std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(q), d.end());
  const double s2 = d.empty() ? 0.0 : static_cast<double>(d[q]);
  const double scale = s2 > 1e-12 ? 1.0 / (2.0 * s2) : 0.0;
  std::vector<float> weight(L.target.size(), 0.0f);
  for (size_t i = 0; i < L.target.size(); ++i)
    if (L.target[i]) weight[i] = static_cast<float>(std::exp(-static_cast<double>(f.dist[i]) * scale));
  std::vector<float> next = L.img;
  run_rows(pool, L.h, 4, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y)
      for (int64_t x = 0; x < L.w; ++x) {
        const size_t i = static_cast<size_t>(L.index(y, x));
        if (!L.hole[i]) continue;
        double acc[4] = {0, 0, 0, 0}, uni[4] = {0, 0, 0, 0};
        double wsum = 0.0, n = 0.0;
        for (int64_t dy = -r; dy <= r; ++dy) {
          const int64_t py = y - dy;
          if (py < 0 || py >= L.h) continue;
          for (int64_t dx = -r; dx <= r; ++dx) {
            const int64_t px = x - dx;
            if (px < 0 || px >= L.w) continue;
            const size_t p = static_cast<size_t>(L.index(py, px));
            if (!L.target[p]) continue;  // cannot happen: the patch at p covers the hole pixel
            const float* v = L.img.data() + ((f.sy[p] + dy) * L.w + f.sx[p] + dx) * L.c;
            const double wgt = weight[p];
            for (int64_t k = 0; k < L.c; ++k) {
              acc[k] += wgt * v[k];
              uni[k] += v[k];
            }
            wsum += wgt;
            n += 1.0;
          }
        }
        for (int64_t k = 0; k < L.c; ++k)
          next[i * static_cast<size_t>(L.c) + static_cast<size_t>(k)] =
              static_cast<float>(wsum > 1e-30 ? acc[k] / wsum : uni[k] / n);
      }
  });
  L.img.swap(next);
}

// The level's source centres, in raster order (for uniform random starts).
std::vector<int64_t> source_list(const Level& L) {
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(L.sources));
  for (size_t i = 0; i < L.source.size(); ++i)
    if (L.source[i]) out.push_back(static_cast<int64_t>(i));
  return out;
}

// The start of a level's field: the coarser level's matches, doubled (random where that lands
// on no source, or where there is no coarser level).
Field initial_field(const Level& L, const Level* coarse, const Field* cf, uint64_t level_key) {
  Field f;
  f.resize(L.target.size());
  const std::vector<int64_t> sources = source_list(L);
  for (int64_t y = 0; y < L.h; ++y)
    for (int64_t x = 0; x < L.w; ++x) {
      const size_t i = static_cast<size_t>(L.index(y, x));
      if (!L.target[i]) continue;
      bool found = false;
      if (coarse != nullptr) {
        const int64_t qy = std::min(y / 2, coarse->h - 1), qx = std::min(x / 2, coarse->w - 1);
        const size_t q = static_cast<size_t>(coarse->index(qy, qx));
        if (coarse->target[q]) {
          const int64_t cand[2][2] = {{2 * cf->sy[q] + (y - 2 * qy), 2 * cf->sx[q] + (x - 2 * qx)},
                                      {2 * cf->sy[q], 2 * cf->sx[q]}};
          for (const auto& c : cand) {
            if (c[0] >= 0 && c[0] < L.h && c[1] >= 0 && c[1] < L.w && L.source[static_cast<size_t>(L.index(c[0], c[1]))]) {
              f.sy[i] = static_cast<int32_t>(c[0]);
              f.sx[i] = static_cast<int32_t>(c[1]);
              found = true;
              break;
            }
          }
        }
      }
      if (!found) {
        Rng rng(level_key ^ static_cast<uint64_t>(i));
        random_source(L, rng, f.sy[i], f.sx[i], sources);
      }
    }
  return f;
}

template <class T>
bool load(const ImageView& src, const ImageView& mask, Level& L, ThreadPool* pool) {
  const float inv = static_cast<float>(1.0 / white_level(src.dtype));
  std::vector<uint8_t> finite(static_cast<size_t>(L.h), 1);
  run_rows(pool, L.h, 16, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      const T* row = src.row<const T>(y);
      const uint8_t* m = mask.row<const uint8_t>(y);
      for (int64_t x = 0; x < L.w; ++x) {
        const size_t i = static_cast<size_t>(L.index(y, x));
        L.hole[i] = m[x] != 0;
        for (int64_t k = 0; k < L.c; ++k) {
          const float v = L.hole[i] ? 0.0f : static_cast<float>(row[x * src.channels + k]) * inv;
          if (!std::isfinite(v)) finite[static_cast<size_t>(y)] = 0;
          L.img[i * static_cast<size_t>(L.c) + static_cast<size_t>(k)] = v;
        }
      }
    }
  });
  return std::all_of(finite.begin(), finite.end(), [](uint8_t f) { return f != 0; });
}

template <class T>
void store(const ImageView& src, const Level& L, const ImageView& dst, ThreadPool* pool) {
  const float white = static_cast<float>(white_level(dst.dtype));
  run_rows(pool, L.h, 16, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      const T* in = src.row<const T>(y);
      T* out = dst.row<T>(y);
      std::memcpy(out, in, static_cast<size_t>(L.w * L.c) * sizeof(T));
      for (int64_t x = 0; x < L.w; ++x) {
        const size_t i = static_cast<size_t>(L.index(y, x));
        if (!L.hole[i]) continue;
        for (int64_t k = 0; k < L.c; ++k) {
          float v = L.img[i * static_cast<size_t>(L.c) + static_cast<size_t>(k)] * white;
          if constexpr (std::is_integral_v<T>) v = std::nearbyint(std::clamp(v, 0.0f, white));
          out[x * L.c + k] = static_cast<T>(v);
        }
      }
    }
  });
}

}  // namespace

void validate(const PatchMatchParams& p) {
  if (p.patch_size < 3 || p.patch_size > kMaxPatchSize || p.patch_size % 2 == 0)
    throw std::invalid_argument("patch_size must be odd and in 3.." + std::to_string(kMaxPatchSize) +
                                ", got " + std::to_string(p.patch_size));
  if (p.em_iterations < 1 || p.em_iterations > kMaxEmIterations)
    throw std::invalid_argument("em_iterations must be in 1.." + std::to_string(kMaxEmIterations) +
                                ", got " + std::to_string(p.em_iterations));
  if (p.pm_passes < 1 || p.pm_passes > kMaxPmPasses)
    throw std::invalid_argument("pm_passes must be in 1.." + std::to_string(kMaxPmPasses) + ", got " +
                                std::to_string(p.pm_passes));
  if (p.max_levels < 0 || p.max_levels > kMaxLevels)
    throw std::invalid_argument("max_levels must be in 0.." + std::to_string(kMaxLevels) +
                                " (0 = automatic), got " + std::to_string(p.max_levels));
}

void fill(const ImageView& src, const ImageView& mask, const ImageView& dst, const PatchMatchParams& p,
          ThreadPool* pool) {
  validate(p);
  if (src.channels < 1 || src.channels > 4)
    throw std::invalid_argument("patchmatch takes 1 to 4 channels, got " + std::to_string(src.channels));
  if (src.dtype != DType::u8 && src.dtype != DType::u16 && src.dtype != DType::f32)
    throw std::invalid_argument(std::string("patchmatch takes uint8, uint16 or float32 images, got ") +
                                dtype_name(src.dtype));
  if (mask.dtype != DType::u8 || mask.channels != 1 || mask.height != src.height || mask.width != src.width)
    throw std::invalid_argument("the mask must be one uint8 channel of the image's height and width");
  if (dst.dtype != src.dtype || dst.height != src.height || dst.width != src.width || dst.channels != src.channels)
    throw std::invalid_argument("dst must have src's shape and dtype");
  if (src.height > kMaxSide || src.width > kMaxSide)
    throw std::invalid_argument("patchmatch takes images up to " + std::to_string(kMaxSide) + " pixels a side, got " +
                                std::to_string(src.width) + "x" + std::to_string(src.height));
  const int r = static_cast<int>(p.patch_size / 2);
  if (src.height < p.patch_size || src.width < p.patch_size)
    throw std::invalid_argument("the image (" + std::to_string(src.width) + "x" + std::to_string(src.height) +
                                ") is smaller than one patch (patch_size=" + std::to_string(p.patch_size) + ")");

  std::vector<Level> levels(1);
  Level& base = levels[0];
  base.h = src.height;
  base.w = src.width;
  base.c = src.channels;
  base.img.assign(static_cast<size_t>(base.h * base.w * base.c), 0.0f);
  base.hole.assign(static_cast<size_t>(base.h * base.w), 0);
  bool finite = true;
  switch (src.dtype) {
    case DType::u8: finite = load<uint8_t>(src, mask, base, pool); break;
    case DType::u16: finite = load<uint16_t>(src, mask, base, pool); break;
    default: finite = load<float>(src, mask, base, pool); break;
  }
  if (!finite) throw std::invalid_argument("the image has non-finite samples outside the mask");
  mark_patches(base, r, pool);
  if (base.targets == 0) {  // nothing missing
    switch (src.dtype) {
      case DType::u8: store<uint8_t>(src, base, dst, pool); break;
      case DType::u16: store<uint16_t>(src, base, dst, pool); break;
      default: store<float>(src, base, dst, pool); break;
    }
    return;
  }
  if (base.sources == 0)
    throw std::invalid_argument("no fully known " + std::to_string(p.patch_size) + "x" + std::to_string(p.patch_size) +
                                " patch to copy from: the mask leaves none in the " + std::to_string(src.width) +
                                "x" + std::to_string(src.height) + " image (a smaller patch_size or mask, or a "
                                "larger region around the holes)");
  // Coarser levels while they keep a side of two patches and at least one source patch.
  const int64_t max_levels = p.max_levels ? p.max_levels : kMaxLevels;
  while (static_cast<int64_t>(levels.size()) < max_levels) {
    const Level& fine = levels.back();
    if ((fine.h + 1) / 2 < 2 * p.patch_size || (fine.w + 1) / 2 < 2 * p.patch_size) break;
    Level coarse = detail::downsample(fine, pool);
    detail::mark_patches(coarse, r, pool);
    if (coarse.sources == 0) break;
    levels.push_back(std::move(coarse));
  }

  Field field;
  for (int64_t li = static_cast<int64_t>(levels.size()) - 1; li >= 0; --li) {
    Level& L = levels[static_cast<size_t>(li)];
    const bool coarsest = li == static_cast<int64_t>(levels.size()) - 1;
    if (coarsest) {
      detail::onion_fill(L);
    } else {  // the holes start from the coarser result (nearest neighbour)
      const Level& C = levels[static_cast<size_t>(li + 1)];
      for (int64_t y = 0; y < L.h; ++y)
        for (int64_t x = 0; x < L.w; ++x) {
          const size_t i = static_cast<size_t>(L.index(y, x));
          if (!L.hole[i]) continue;
          const size_t q = static_cast<size_t>(C.index(std::min(y / 2, C.h - 1), std::min(x / 2, C.w - 1)));
          for (int64_t k = 0; k < L.c; ++k)
            L.img[i * static_cast<size_t>(L.c) + static_cast<size_t>(k)] = C.img[q * static_cast<size_t>(C.c) + static_cast<size_t>(k)];
        }
    }
    const uint64_t level_key = key(p.seed, li, -1, -1, 0);
    field = coarsest ? initial_field(L, nullptr, nullptr, level_key)
                     : initial_field(L, &levels[static_cast<size_t>(li + 1)], &field, level_key);
    if (li + 1 < static_cast<int64_t>(levels.size())) levels[static_cast<size_t>(li + 1)] = Level();  // done with it
    Field other;
    other.resize(L.target.size());
    const int64_t rounds = coarsest ? 2 * p.em_iterations : p.em_iterations;
    for (int64_t round = 0; round < rounds; ++round) {
      refresh_distances(L, r, field, pool);
      for (int64_t pass = 0; pass < p.pm_passes; ++pass) {
        const int64_t jump = int64_t{1} << std::max<int64_t>(0, std::min<int64_t>(p.pm_passes - 1 - pass, 3));
        search_pass(L, r, field, other, jump, key(p.seed, li, round, pass, 0), pool);
        std::swap(field, other);
      }
      vote(L, r, field, pool);
    }
  }
  const Level& out = levels[0];
  switch (src.dtype) {
    case DType::u8: store<uint8_t>(src, out, dst, pool); break;
    case DType::u16: store<uint16_t>(src, out, dst, pool); break;
    default: store<float>(src, out, dst, pool); break;
  }
}

}  // namespace imgen::inpaint
