#include "preprocess/tiling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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
    plan.size = (length + multiple - 1) / multiple * multiple;
    plan.starts.push_back(0);
    return plan;
  }
  if (overlap >= size)
    throw std::invalid_argument("overlap " + std::to_string(overlap) +
                                " must be smaller than the tile size " + std::to_string(size));
  plan.size = size;
  const int64_t stride = size - overlap;
  for (int64_t s = 0;; s += stride) {
    if (s + size >= length) {
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
  row_sum_.assign(static_cast<size_t>(height), 0.0);
  col_sum_.assign(static_cast<size_t>(width), 0.0);
  for (int64_t s : row_starts_) {
    if (s < 0 || s >= height) throw std::invalid_argument("tile row start outside the image");
    row_w_.push_back(tile_weights(s, tile_h, height, overlap));
    for (int64_t i = 0; i < tile_h && s + i < height; ++i)
      row_sum_[static_cast<size_t>(s + i)] += row_w_.back()[static_cast<size_t>(i)];
  }
  for (int64_t s : col_starts_) {
    if (s < 0 || s >= width) throw std::invalid_argument("tile column start outside the image");
    col_w_.push_back(tile_weights(s, tile_w, width, overlap));
    for (int64_t i = 0; i < tile_w && s + i < width; ++i)
      col_sum_[static_cast<size_t>(s + i)] += col_w_.back()[static_cast<size_t>(i)];
  }
  for (double v : row_sum_)
    if (!(v > 0.0)) throw std::invalid_argument("tile rows do not cover the image");
  for (double v : col_sum_)
    if (!(v > 0.0)) throw std::invalid_argument("tile columns do not cover the image");
  acc_.assign(static_cast<size_t>(channels * height * width), 0.0);
  added_.assign(static_cast<size_t>(num_tiles()), 0);
}

namespace {

template <class T>
void accumulate_row(double* __restrict acc, const T* __restrict src, const double* __restrict wx,
                    double wy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += wy * wx[i] * static_cast<double>(src[i]);
}

}  // namespace

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
    const std::vector<double>& wy = row_w_[gr];
    const double* wx = col_w_[gc].data();
    pool.parallel_for(channels_ * rows, std::max<int64_t>(1, 16384 / n), [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const int64_t c = r / rows, y = r % rows;
        double* acc = acc_.data() + (c * height_ + y0 + y) * width_ + x0;
        const int64_t off = ((t * channels_ + c) * tile_h_ + y) * tile_w_;
        if (tiles.dtype == DType::f16)
          accumulate_row(acc, static_cast<const float16_t*>(tiles.data) + off, wx,
                         wy[static_cast<size_t>(y)], n);
        else
          accumulate_row(acc, static_cast<const float*>(tiles.data) + off, wx,
                         wy[static_cast<size_t>(y)], n);
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
  // Normalise a band of rows into float planes, then convert it with the from_tensor kernels.
  const int64_t band = std::max<int64_t>(1, 65536 / (width_ * channels_));
  const int64_t bands = (height_ + band - 1) / band;
  pool.parallel_for(bands, 1, [&](int64_t b0, int64_t b1) {
    std::vector<float> buf(static_cast<size_t>(channels_ * band * width_));
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t y0 = b * band, rows = std::min(band, height_ - y0);
      for (int64_t c = 0; c < channels_; ++c)
        for (int64_t y = 0; y < rows; ++y) {
          const double* acc = acc_.data() + (c * height_ + y0 + y) * width_;
          float* out = buf.data() + (c * rows + y) * width_;
          const double ry = row_sum_[static_cast<size_t>(y0 + y)];
          const double* cs = col_sum_.data();
          for (int64_t x = 0; x < width_; ++x) out[x] = static_cast<float>(acc[x] / (ry * cs[x]));
        }
      TensorView planes{buf.data(), DType::f32, 1, channels_, rows, width_};
      ImageView part = dst;
      part.data = static_cast<char*>(dst.data) + y0 * dst.row_stride * dtype_size(dst.dtype);
      part.height = rows;
      from_tensor(planes, 0, 0, &part, 1, norm, clamp, /*pool=*/nullptr);
    }
  });
}

}  // namespace imgen
