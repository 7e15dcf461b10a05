#include "wavelet/shrink.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <type_traits>
#include <stdexcept>
#include <vector>

namespace imgen::wavelet {
namespace {

// scikit-image's ycbcr_from_rgb / 255 (its +16/+128 offsets change nothing here: a constant lives
// in the approximation band only), and the inverse.
constexpr double k_ycbcr[3][3] = {{65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0},
                                  {-37.797 / 255.0, -74.203 / 255.0, 112.0 / 255.0},
                                  {112.0 / 255.0, -93.786 / 255.0, -18.214 / 255.0}};

struct Matrix3 {
  double m[3][3];
};

constexpr Matrix3 inverse3(const double (&a)[3][3]) {
  Matrix3 r{};
  const double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                     a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                     a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      // r[i][j] = cofactor(j, i) / det
      const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      r.m[i][j] = (a[r0][c0] * a[r1][c1] - a[r0][c1] * a[r1][c0]) / det;
    }
  return r;
}

constexpr Matrix3 k_rgb_from_ycbcr = inverse3(k_ycbcr);


int64_t row_grain(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, width)); }

template <class T>
float load(const T* row, int64_t i) {
  return static_cast<float>(row[i]);
}

// Writes one value, rounded to nearest and clamped for integer types (NaN -> 0).
template <class T>
void store(T* row, int64_t i, float x) {
  if constexpr (std::is_same_v<T, float>) {
    row[i] = x;
  } else {
    constexpr float hi = static_cast<float>(std::numeric_limits<T>::max());
    x = std::isnan(x) ? 0.0f : std::clamp(x, 0.0f, hi);
    row[i] = static_cast<T>(std::lrint(x));
  }
}

// Image rows -> float planes (gray, or Y, Cb, Cr).
template <class T>
void load_rows(const ImageView& src, const Plane* planes, int nplanes, int64_t begin, int64_t end) {
  const int64_t c = src.channels;
  float m[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m[i][j] = static_cast<float>(k_ycbcr[i][j]);
  for (int64_t y = begin; y < end; ++y) {
    const T* in = src.row<T>(y);
    if (nplanes == 1) {
      float* out = planes[0].row(y);
      for (int64_t x = 0; x < src.width; ++x) out[x] = load(in, x * c);
      continue;
    }
    float* out[3] = {planes[0].row(y), planes[1].row(y), planes[2].row(y)};
    for (int64_t x = 0; x < src.width; ++x) {
      const float r = load(in, x * c), g = load(in, x * c + 1), b = load(in, x * c + 2);
      for (int i = 0; i < 3; ++i) out[i][x] = m[i][0] * r + m[i][1] * g + m[i][2] * b;
    }
  }
}

// Float planes times `scale` (1 / shifts) -> image rows; alpha comes from src.
template <class T>
void store_rows(const Plane* planes, int nplanes, float scale, const ImageView& src,
                const ImageView& dst, int64_t begin, int64_t end) {
  const int64_t c = dst.channels;
  float m[3][3];
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) m[i][j] = static_cast<float>(k_rgb_from_ycbcr.m[i][j]);
  for (int64_t y = begin; y < end; ++y) {
    T* out = dst.row<T>(y);
    if (nplanes == 1) {
      const float* in = planes[0].row(y);
      for (int64_t x = 0; x < dst.width; ++x) store(out, x * c, in[x] * scale);
      continue;
    }
    const float* in[3] = {planes[0].row(y), planes[1].row(y), planes[2].row(y)};
    const T* alpha = src.row<T>(y);
    for (int64_t x = 0; x < dst.width; ++x) {
      const float yy = in[0][x] * scale, cb = in[1][x] * scale, cr = in[2][x] * scale;
      for (int i = 0; i < 3; ++i) store(out, x * c + i, m[i][0] * yy + m[i][1] * cb + m[i][2] * cr);
      if (c == 4) out[x * c + 3] = alpha[x * c + 3];
    }
  }
}

void load_planes(const ImageView& src, const Plane* planes, int nplanes, ThreadPool* pool) {
  run_rows(pool, src.height, row_grain(src.width * src.channels), [&](int64_t begin, int64_t end) {
    switch (src.dtype) {
      case DType::u8: load_rows<uint8_t>(src, planes, nplanes, begin, end); break;
      case DType::u16: load_rows<uint16_t>(src, planes, nplanes, begin, end); break;
      default: load_rows<float>(src, planes, nplanes, begin, end); break;
    }
  });
}

void store_planes(const Plane* planes, int nplanes, float scale, const ImageView& src,
                  const ImageView& dst, ThreadPool* pool) {
  run_rows(pool, dst.height, row_grain(dst.width * dst.channels), [&](int64_t begin, int64_t end) {
    switch (dst.dtype) {
      case DType::u8: store_rows<uint8_t>(planes, nplanes, scale, src, dst, begin, end); break;
      case DType::u16: store_rows<uint16_t>(planes, nplanes, scale, src, dst, begin, end); break;
      default: store_rows<float>(planes, nplanes, scale, src, dst, begin, end); break;
    }
  });
}

void shrink_band(const Plane& band, float t, ThresholdMode mode, int64_t begin, int64_t end) {
  for (int64_t y = begin; y < end; ++y) {
    float* p = band.row(y);
    if (mode == ThresholdMode::soft) {
      for (int64_t x = 0; x < band.width; ++x) {
        const float a = std::fabs(p[x]) - t;
        p[x] = a > 0.0f ? std::copysign(a, p[x]) : 0.0f;
      }
    } else {
      for (int64_t x = 0; x < band.width; ++x) p[x] = std::fabs(p[x]) >= t ? p[x] : 0.0f;
    }
  }
}

struct PlaneJob {
  const FilterBank* fb;
  int levels;
  ThresholdMethod method;
  ThresholdMode mode;
  double sigma;  // < 0: estimate it from this transform's finest diagonal band
  int64_t pixels;  // H * W of the unpadded plane, for VisuShrink
  const float* thresholds = nullptr;  // [level][band] given: used instead of sigma and the bands' energy
};

// Denoises one plane; with an offset (dy, dx) the plane is first extended symmetrically by dy rows
// above and dx columns on the left, and the result is read back from the same window.
void denoise_plane(const Plane& in, const Plane& out, const PlaneJob& job, int64_t dy, int64_t dx,
                   ThreadPool* pool) {
  Plane src = in;
  std::unique_ptr<float[]> padded;
  if (dy != 0 || dx != 0) {
    const int64_t h = in.height + dy, w = in.width + dx;
    padded = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(h * w));
    src = Plane{padded.get(), h, w, w};
    run_rows(pool, h, row_grain(w), [&](int64_t begin, int64_t end) {
      for (int64_t y = begin; y < end; ++y) {
        const float* s = in.row(symmetric_index(y - dy, in.height));
        float* d = src.row(y);
        for (int64_t x = 0; x < dx; ++x) d[x] = s[symmetric_index(x - dx, in.width)];
        std::copy(s, s + in.width, d + dx);
      }
    });
  }
  Pyramid pyr(src.height, src.width, job.fb->length, job.levels);
  std::vector<BandEnergy> energy(static_cast<size_t>(job.levels));
  dwt2(src, *job.fb, pyr.approx(), pyr.details(), pool, energy);

  const double sigma = job.thresholds ? 0.0
                       : job.sigma >= 0.0 ? job.sigma
                                          : estimate_sigma(pyr.details()[0].d);
  const double var = sigma * sigma;
  const double visu = sigma * std::sqrt(2.0 * std::log(static_cast<double>(job.pixels)));
  const double eps = FLT_EPSILON;  // scikit-image: finfo(float32).eps
  for (int l = 0; l < job.levels; ++l) {
    const DetailBands& d = pyr.details()[static_cast<size_t>(l)];
    const Plane bands[3] = {d.h, d.v, d.d};
    float t[3];
    for (int k = 0; k < 3; ++k) {
      if (job.thresholds) {
        t[k] = job.thresholds[l * 3 + k];
      } else if (job.method == ThresholdMethod::bayes) {
        const double n = static_cast<double>(bands[k].height * bands[k].width);
        const double dvar = energy[static_cast<size_t>(l)].sumsq[k] / n;
        t[k] = static_cast<float>(var / std::sqrt(std::max(dvar - var, eps)));
      } else {
        t[k] = static_cast<float>(visu);
      }
    }
    const int64_t bh = d.h.height;
    run_rows(pool, 3 * bh, row_grain(d.h.width), [&](int64_t begin, int64_t end) {
      for (int k = 0; k < 3; ++k) {
        const int64_t b = std::max(begin, k * bh), e = std::min(end, (k + 1) * bh);
        if (b < e) shrink_band(bands[k], t[k], job.mode, b - k * bh, e - k * bh);
      }
    });
  }
  idwt2(pyr.approx(), pyr.details(), *job.fb, out, pool, dy, dx);
}

}  // namespace

int max_levels(int64_t height, int64_t width, int filter_len) {
  return std::max(max_level(std::min(height, width), filter_len), 1);
}

int default_levels(int64_t height, int64_t width, int filter_len) {
  return std::max(max_level(std::min(height, width), filter_len) - 3, 1);
}

void shift_offset(int s, int64_t* dy, int64_t* dx) {
  int64_t y = 0, x = 0;
  for (int b = 0; b < 15; ++b) {
    x |= static_cast<int64_t>((s >> (2 * b)) & 1) << b;
    y |= static_cast<int64_t>((s >> (2 * b + 1)) & 1) << b;
  }
  *dy = y;
  *dx = x;
}

double estimate_sigma(const Plane& band) {
  // The median of |d| over the non-zero coefficients, found without sorting: non-negative floats
  // order like their bit patterns, so a histogram of the top 14 bits (sign, exponent, 5 mantissa
  // bits) finds the bucket holding the median, and only that bucket is partially sorted.
  // Same value as numpy.median (mean of the two middle values for an even count).
  constexpr int k_shift = 18;
  std::vector<uint32_t> hist(size_t{1} << k_shift, 0);
  auto key = [](float x) { return std::bit_cast<uint32_t>(std::fabs(x)); };
  int64_t n = 0;
  for (int64_t y = 0; y < band.height; ++y) {
    const float* r = band.row(y);
    for (int64_t x = 0; x < band.width; ++x) {
      if (r[x] != 0.0f) {
        ++hist[key(r[x]) >> k_shift];
        ++n;
      }
    }
  }
  if (n == 0) return 0.0;
  const int64_t k = n / 2;  // rank of the upper middle value
  uint32_t bucket = 0;
  int64_t below = 0;  // values in buckets before `bucket`
  while (below + hist[bucket] <= k) below += hist[bucket++];
  // Second pass: gather the bucket (a few percent of the values; the test is predictable).
  const uint32_t lo_key = bucket << k_shift, span = uint32_t{1} << k_shift;
  std::vector<float> cand;
  cand.reserve(hist[bucket]);
  for (int64_t y = 0; y < band.height; ++y) {
    const float* r = band.row(y);
    for (int64_t x = 0; x < band.width; ++x)
      if (key(r[x]) - lo_key < span && r[x] != 0.0f) cand.push_back(std::fabs(r[x]));
  }
  const auto rank = static_cast<size_t>(k - below);
  std::nth_element(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(rank), cand.end());
  float median = cand[rank];
  if (n % 2 == 0) {
    float prev = 0.0f;  // the value just below the median: in the bucket, or the largest below it
    if (rank > 0) {
      prev = *std::max_element(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(rank));
    } else {
      for (int64_t y = 0; y < band.height; ++y) {
        const float* r = band.row(y);
        for (int64_t x = 0; x < band.width; ++x)
          if (key(r[x]) < lo_key) prev = std::max(prev, std::fabs(r[x]));
      }
    }
    median = (prev + median) / 2.0f;
  }
  return static_cast<double>(median) / 0.6744897501960817;  // scipy.stats.norm.ppf(0.75)
}

void denoise(const ImageView& src, const ImageView& dst, const DenoiseParams& params,
             ThreadPool* pool) {
  if (!params.wavelet) throw std::invalid_argument("denoise: no wavelet given");
  if (params.shifts < 1) throw std::invalid_argument("denoise: shifts must be >= 1");
  if (src.height != dst.height || src.width != dst.width || src.channels != dst.channels ||
      src.dtype != dst.dtype)
    throw std::invalid_argument("denoise: src and dst must have the same shape and dtype");
  const FilterBank fb(*params.wavelet);
  const int64_t h = src.height, w = src.width, hw = h * w;
  const int nplanes = src.channels >= 3 ? 3 : 1;
  const int levels = params.levels > 0 ? params.levels : default_levels(h, w, fb.length);

  // Float planes: a float32 gray image is read in place, and written in place when it is the
  // output; everything else goes through planes of its own (Y, Cb, Cr for colour).
  const bool direct_in = nplanes == 1 && src.dtype == DType::f32;
  const bool direct_out = nplanes == 1 && dst.dtype == DType::f32;
  const auto owned = static_cast<size_t>(((direct_in ? 0 : nplanes) + (direct_out ? 0 : nplanes)) * hw);
  auto buffer = std::make_unique_for_overwrite<float[]>(owned);
  float* next = buffer.get();
  Plane in_p[3], out_p[3];
  for (int c = 0; c < nplanes; ++c) {
    if (direct_in) {
      in_p[c] = Plane{static_cast<float*>(src.data), h, w, src.row_stride};
    } else {
      in_p[c] = Plane{next, h, w, w};
      next += hw;
    }
    if (direct_out) {
      out_p[c] = Plane{static_cast<float*>(dst.data), h, w, dst.row_stride};
    } else {
      out_p[c] = Plane{next, h, w, w};
      next += hw;
    }
  }
  if (!direct_in) load_planes(src, in_p, nplanes, pool);

  PlaneJob jobs[3];
  for (int c = 0; c < nplanes; ++c) {
    // A given sigma is a fraction of the full range; the planes hold the image's own units.
    double sigma = params.sigma >= 0.0 ? params.sigma * white_level(src.dtype) : params.sigma;
    if (sigma >= 0.0 && nplanes == 3) {
      const double* r = k_ycbcr[c];
      sigma *= std::sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    } else if (sigma < 0.0 && params.shifts > 1 && !params.thresholds) {
      // Every shift must use the estimate of the unshifted plane: take it from a one-level
      // transform up front (plain denoising takes it from its own transform instead).
      Pyramid one(h, w, fb.length, 1);
      dwt2(in_p[c], fb, one.approx(), one.details(), pool);
      sigma = estimate_sigma(one.details()[0].d);
    }
    jobs[c] = PlaneJob{&fb, levels, params.method, params.mode, sigma, hw,
                       params.thresholds ? params.thresholds + c * levels * 3 : nullptr};
  }

  if (params.shifts == 1) {
    for (int c = 0; c < nplanes; ++c) denoise_plane(in_p[c], out_p[c], jobs[c], 0, 0, pool);
    if (!direct_out) store_planes(out_p, nplanes, 1.0f, src, dst, pool);
    return;
  }
  // Cycle spinning: (plane, shift) jobs run in parallel, one thread each, in batches; each plane
  // sums its shifts in shift order, so the result does not depend on the batch size.
  const int64_t njobs = int64_t{nplanes} * params.shifts;
  const int64_t batch = std::min<int64_t>(njobs, pool ? pool->size() : 1);
  auto results = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(batch * hw));
  for (int64_t j0 = 0; j0 < njobs; j0 += batch) {
    const int64_t nb = std::min(batch, njobs - j0);
    auto one = [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t j = j0 + i;
        const auto c = static_cast<size_t>(j / params.shifts);
        int64_t dy, dx;
        shift_offset(static_cast<int>(j % params.shifts), &dy, &dx);
        denoise_plane(in_p[c], Plane{results.get() + i * hw, h, w, w}, jobs[c], dy, dx, nullptr);
      }
    };
    if (pool && nb > 1)
      pool->parallel_for(nb, 1, one);
    else
      one(0, nb);
    for (int64_t i = 0; i < nb; ++i) {
      const int64_t j = j0 + i;
      const Plane& acc = out_p[j / params.shifts];
      const float* r = results.get() + i * hw;
      const bool first = j % params.shifts == 0;
      run_rows(pool, h, row_grain(w), [&](int64_t begin, int64_t end) {
        for (int64_t y = begin; y < end; ++y) {
          float* a = acc.row(y);
          const float* ry = r + y * w;
          if (first)
            std::copy(ry, ry + w, a);
          else
            for (int64_t x = 0; x < w; ++x) a[x] += ry[x];
        }
      });
    }
  }
  const float scale = 1.0f / static_cast<float>(params.shifts);
  if (!direct_out) {
    store_planes(out_p, nplanes, scale, src, dst, pool);
    return;
  }
  run_rows(pool, h, row_grain(w), [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      float* a = out_p[0].row(y);
      for (int64_t x = 0; x < w; ++x) a[x] *= scale;
    }
  });
}

}  // namespace imgen::wavelet
