#include "preprocess/tiling.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/cpu_features.hpp"
#include "preprocess/blend_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "preprocess/blend_kernels.inl"
#undef IMGEN_SIMD_NS

namespace imgen {

AxisPlan plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t multiple) {
  if (length <= 0) throw std::invalid_argument("image size must be positive");
  if (multiple <= 0) throw std::invalid_argument("size multiple must be positive");
  if (overlap < 0) throw std::invalid_argument("overlap must be >= 0");
  const int64_t size = tile / multiple * multiple;
  if (size <= 0)
    throw std::invalid_argument("tile size " + std::to_string(tile) +
                                " is smaller than the size multiple " + std::to_string(multiple));
  AxisPlan plan;
  if (length <= size) {
    // length rounded up to `multiple`, without computing length + multiple - 1 (which overflows
    // for lengths near 2**63); the result is at most size, a multiple that already fits.
    plan.size = length % multiple == 0 ? length : (length / multiple + 1) * multiple;
    plan.starts.push_back(0);
    return plan;
  }
  if (overlap >= size)
    throw std::invalid_argument("overlap " + std::to_string(overlap) +
                                " must be smaller than the tile size " + std::to_string(size));
  plan.size = size;
  const int64_t stride = size - overlap;
  // s >= length - size rather than s + size >= length: the sum overflows for lengths near 2**63
  // (and the loop then never ended).  s < length - size here, so s + stride cannot overflow.
  for (int64_t s = 0;; s += stride) {
    if (s >= length - size) {
      plan.starts.push_back(length - size);
      break;
    }
    plan.starts.push_back(s);
  }
  return plan;
}

std::vector<double> tile_weights(int64_t start, int64_t size, int64_t length, int64_t overlap) {
  std::vector<double> w(static_cast<size_t>(size), 1.0);
  if (overlap <= 0) return w;
  const bool left = start > 0, right = start + size < length;
  const int64_t margin = overlap / 4;
  const int64_t ramp = overlap - 2 * margin;
  const double half_pi = 1.5707963267948966;
  auto set = [&](int64_t i, double v) {
    if (i >= 0 && i < size) w[static_cast<size_t>(i)] = std::min(w[static_cast<size_t>(i)], v);
  };
  for (int64_t d = 0; d < margin + ramp; ++d) {
    double v = 0.0;
    if (d >= margin) {
      const double s = std::sin(half_pi * (static_cast<double>(d - margin) + 0.5) /
                                static_cast<double>(ramp));
      v = s * s;
    }
    if (left) set(d, v);
    if (right) set(size - 1 - d, v);
  }
  return w;
}

TileMerger::TileMerger(int64_t height, int64_t width, int64_t channels,
                       std::vector<int64_t> row_starts, std::vector<int64_t> col_starts,
                       int64_t tile_h, int64_t tile_w, int64_t overlap)
    : height_(height),
      width_(width),
      channels_(channels),
      row_starts_(std::move(row_starts)),
      col_starts_(std::move(col_starts)),
      tile_h_(tile_h),
      tile_w_(tile_w) {
  if (height <= 0 || width <= 0) throw std::invalid_argument("merged image size must be positive");
  if (channels < 1 || channels > 4 || channels == 2)
    throw std::invalid_argument("merged image must have 1, 3 or 4 channels, got " +
                                std::to_string(channels));
  if (row_starts_.empty() || col_starts_.empty() || tile_h <= 0 || tile_w <= 0)
    throw std::invalid_argument("tile grid is empty");
  if (overlap < 0) throw std::invalid_argument("overlap must be >= 0");
  // channels * height * width sizes the buffers: it must not overflow (it would wrap to a small
  // buffer that add() then writes past).  Checked by division, before anything is allocated.
  if (height > std::numeric_limits<int64_t>::max() / width / channels)
    throw std::invalid_argument("merged image of " + std::to_string(height) + "x" +
                                std::to_string(width) + "x" + std::to_string(channels) +
                                " samples is too large (more than 2**63 - 1)");
  // Per-axis weights; every pixel must get a positive total weight from the grid.
  auto axis = [overlap](const std::vector<int64_t>& starts, int64_t size, int64_t length,
                        const char* what, std::vector<std::vector<float>>& out) {
    std::vector<double> total(static_cast<size_t>(length), 0.0);
    for (int64_t s : starts) {
      if (s < 0 || s >= length)
        throw std::invalid_argument(std::string("tile ") + what + " start outside the image");
      const std::vector<double> w = tile_weights(s, size, length, overlap);
      out.emplace_back(w.begin(), w.end());
      for (int64_t i = 0; i < size && s + i < length; ++i)
        total[static_cast<size_t>(s + i)] += w[static_cast<size_t>(i)];
    }
    for (double v : total)
      if (!(v > 0.0))
        throw std::invalid_argument(std::string("tile ") + what + "s do not cover the image");
  };
  axis(row_starts_, tile_h, height, "row", row_w_);
  axis(col_starts_, tile_w, width, "column", col_w_);
  // The mean needs no zeroing: a pixel's first contribution replaces it (see add).
  mean_ = LargeBuffer<float>(static_cast<size_t>(channels * height * width), /*zero=*/false);
  weight_ = LargeBuffer<float>(static_cast<size_t>(height * width), /*zero=*/true);
  added_.assign(static_cast<size_t>(num_tiles()), 0);
}

void TileMerger::add(const TensorView& tiles, const int64_t* indices, ThreadPool& pool) {
  if (tiles.channels != channels_ || tiles.height != tile_h_ || tiles.width != tile_w_)
    throw std::invalid_argument(
        "tiles must be (N, " + std::to_string(channels_) + ", " + std::to_string(tile_h_) + ", " +
        std::to_string(tile_w_) + "), got (N, " + std::to_string(tiles.channels) + ", " +
        std::to_string(tiles.height) + ", " + std::to_string(tiles.width) + ")");
  const int64_t cols = static_cast<int64_t>(col_starts_.size());
  for (int64_t t = 0; t < tiles.batch; ++t) {
    const int64_t idx = indices[t];
    if (idx < 0 || idx >= num_tiles())
      throw std::invalid_argument("tile index " + std::to_string(idx) + " out of range [0, " +
                                  std::to_string(num_tiles()) + ")");
    for (int64_t u = 0; u < t; ++u)
      if (indices[u] == idx)
        throw std::invalid_argument("tile " + std::to_string(idx) + " was added twice");
    if (added_[static_cast<size_t>(idx)])
      throw std::invalid_argument("tile " + std::to_string(idx) + " was added twice");
  }
  for (int64_t t = 0; t < tiles.batch; ++t) {
    const int64_t idx = indices[t];
    added_[static_cast<size_t>(idx)] = 1;
    const size_t gr = static_cast<size_t>(idx / cols), gc = static_cast<size_t>(idx % cols);
    const int64_t y0 = row_starts_[gr], x0 = col_starts_[gc];
    const int64_t rows = std::min(tile_h_, height_ - y0);
    const int64_t n = std::min(tile_w_, width_ - x0);
    const float* wy = row_w_[gr].data();
    const float* wx = col_w_[gc].data();
    const size_t plane = static_cast<size_t>(height_ * width_);
    const bool half = tiles.dtype == DType::f16;
    const size_t item = dtype_size(tiles.dtype);
    const bool avx2 = cpu_has_avx2();
    pool.parallel_for(rows, std::max<int64_t>(1, 8192 / (n * channels_)), [&](int64_t b, int64_t e) {
      std::vector<float> ratio(static_cast<size_t>(n));
      blend_detail::BlendRow row{};
      row.ratio = ratio.data();
      row.wx = wx;
      row.n = n;
      row.channels = channels_;
      row.half = half;
      for (int64_t y = b; y < e; ++y) {
        row.wsum = weight_.data() + (y0 + y) * width_ + x0;
        row.wy = wy[y];
        for (int64_t c = 0; c < channels_; ++c) {
          row.mean[c] = mean_.data() + static_cast<size_t>(c) * plane + (y0 + y) * width_ + x0;
          const int64_t off = ((t * channels_ + c) * tile_h_ + y) * tile_w_;
          row.src[c] = static_cast<const char*>(tiles.data) + static_cast<size_t>(off) * item;
        }
        avx2 ? avx2::blend_tile_row(row) : baseline::blend_tile_row(row);
      }
    });
  }
}

void TileMerger::finish(const ImageView& dst, const Normalize& norm, bool clamp,
                        ThreadPool& pool) const {
  if (dst.height != height_ || dst.width != width_ || dst.channels != channels_)
    throw std::invalid_argument("merge destination has the wrong shape");
  for (size_t i = 0; i < added_.size(); ++i)
    if (!added_[i])
      throw std::logic_error("tile " + std::to_string(i) + " was never added before finish()");
  TensorView planes{const_cast<float*>(mean_.data()), DType::f32, 1, channels_, height_, width_};
  from_tensor(planes, 0, 0, &dst, 1, norm, clamp, &pool);
}

}  // namespace imgen
