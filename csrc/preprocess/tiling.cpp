#include "preprocess/tiling.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/cpu_features.hpp"
#include "preprocess/blend_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "preprocess/blend_kernels.inl"
#undef IMGEN_SIMD_NS

namespace imgen {

namespace {

std::string str(int64_t v) { return std::to_string(v); }

// The weight (before the min of both sides) at distance d from a side with a neighbour.
double ramp_weight(int64_t d, int64_t margin, int64_t ramp) {
  if (d < margin) return 0.0;
  const double half_pi = 1.5707963267948966;
  const double s =
      std::sin(half_pi * (static_cast<double>(d - margin) + 0.5) / static_cast<double>(ramp));
  return s * s;
}

// The pixels of a tile with a positive weight, [first, last), clipped to the axis: all but the
// outer overlap/4 on each side that has a neighbour (the ramp itself is positive throughout).
void positive_span(int64_t start, int64_t size, int64_t length, int64_t overlap, int64_t* first,
                   int64_t* last) {
  const int64_t inside = std::min(size, length - start);  // start < length, no overflow
  const int64_t margin = overlap > 0 ? overlap / 4 : 0;
  const bool left = start > 0, right = size < length - start;
  *first = start + std::min(left ? margin : 0, inside);
  *last = start + (right ? std::max<int64_t>(0, inside - margin) : inside);
}

// Starts on one axis must be strictly increasing, inside [0, length), and their positive spans
// must cover the axis (every output pixel then gets a positive total weight).
void check_axis(const std::vector<int64_t>& starts, int64_t size, int64_t length, int64_t overlap,
                const char* what) {
  std::vector<std::pair<int64_t, int64_t>> spans;
  spans.reserve(starts.size());
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t s = starts[i];
    if (s < 0 || s >= length)
      throw std::invalid_argument(std::string("tile ") + what + " start outside the image");
    if (i > 0 && s <= starts[i - 1])
      throw std::invalid_argument(std::string("tile ") + what + " starts must be strictly increasing");
    int64_t first, last;
    positive_span(s, size, length, overlap, &first, &last);
    if (first < last) spans.emplace_back(first, last);
  }
  std::sort(spans.begin(), spans.end());
  int64_t covered = 0;  // [0, covered) has a positive weight
  for (const auto& [first, last] : spans) {
    if (first > covered) break;
    covered = std::max(covered, last);
  }
  if (covered < length)
    throw std::invalid_argument(std::string("tile ") + what + "s do not cover the image");
}

bool mul_overflows(size_t a, size_t b, size_t* out) { return __builtin_mul_overflow(a, b, out); }

// Per tile on one axis, the pixels that it alone weighs: its positive span less every other
// tile's.  Earlier tiles' spans start no later (starts increase), so those below the largest end
// among them are covered; likewise above the smallest start among later ones.  Empty: (0, 0).
std::vector<std::pair<int64_t, int64_t>> own_spans(const std::vector<int64_t>& starts, int64_t size,
                                                   int64_t length, int64_t overlap) {
  const size_t n = starts.size();
  std::vector<std::pair<int64_t, int64_t>> span(n), own(n);
  for (size_t i = 0; i < n; ++i)
    positive_span(starts[i], size, length, overlap, &span[i].first, &span[i].second);
  std::vector<int64_t> later_first(n + 1, length);  // min first of spans i.. (non-empty ones)
  for (size_t i = n; i-- > 0;)
    later_first[i] = std::min(later_first[i + 1],
                              span[i].first < span[i].second ? span[i].first : length);
  int64_t earlier_last = 0;  // max last of spans before i
  for (size_t i = 0; i < n; ++i) {
    const int64_t a = std::max(span[i].first, earlier_last);
    const int64_t b = std::min(span[i].second, later_first[i + 1]);
    own[i] = a < b ? std::make_pair(a, b) : std::make_pair(int64_t{0}, int64_t{0});
    if (span[i].first < span[i].second) earlier_last = std::max(earlier_last, span[i].second);
  }
  return own;
}

}  // namespace

AxisPlan plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t multiple) {
  if (length <= 0) throw std::invalid_argument("image size must be positive");
  if (multiple <= 0) throw std::invalid_argument("size multiple must be positive");
  if (overlap < 0) throw std::invalid_argument("overlap must be >= 0");
  const int64_t size = tile / multiple * multiple;
  if (size <= 0)
    throw std::invalid_argument("tile size " + str(tile) + " is smaller than the size multiple " +
                                str(multiple));
  AxisPlan plan;
  if (length <= size) {
    // length rounded up to `multiple`: at most `size`, so it cannot overflow (length + multiple
    // - 1 could).
    const int64_t rest = length % multiple;
    plan.size = rest == 0 ? length : length + (multiple - rest);
    plan.starts.push_back(0);
    return plan;
  }
  if (overlap >= size)
    throw std::invalid_argument("overlap " + str(overlap) + " must be smaller than the tile size " +
                                str(size));
  plan.size = size;
  // Every start is a multiple of `multiple`, so a model that works in blocks of that size (a
  // U-Net's downsampling, a pixel unshuffle) sees each tile on the same grid as the whole image:
  // the stride is rounded down to the multiple (the overlap grows by less than `multiple`) and
  // the last tile starts at length - size rounded *up*, reaching past the end by less than
  // `multiple` (filled by reflection, as a whole image is padded).  When the overlap leaves less
  // than one multiple of stride (a fixed-size model's tiles), the starts cannot be aligned
  // without losing the overlap: they are `size - overlap` apart, the last flush with the end.
  const bool aligned = size - overlap >= multiple;
  const int64_t stride = aligned ? (size - overlap) / multiple * multiple : size - overlap;
  // No overflow: multiple <= size, so length - size + multiple - 1 < length.
  const int64_t last = aligned ? (length - size + multiple - 1) / multiple * multiple : length - size;
  // Starts 0, stride, ... while a tile ends before the axis does, then `last`.
  const int64_t count = (length - size + stride - 1) / stride + 1;  // length - size > 0
  if (count > kMaxTiles)
    throw std::invalid_argument("an axis of " + str(length) + " pixels in tiles of " + str(size) +
                                " (overlap " + str(overlap) + ") needs " + str(count) +
                                " tiles; at most " + str(kMaxTiles) + " are supported: use larger tiles");
  plan.starts.reserve(static_cast<size_t>(count));
  for (int64_t s = 0;; s += stride) {
    if (size >= length - s) {
      plan.starts.push_back(last);
      break;
    }
    plan.starts.push_back(s);
  }
  return plan;
}

std::vector<double> tile_weights(int64_t start, int64_t size, int64_t length, int64_t overlap) {
  const int64_t inside = std::max<int64_t>(0, std::min(size, length - start));
  std::vector<double> w(static_cast<size_t>(inside), 1.0);
  if (overlap <= 0) return w;
  const bool left = start > 0, right = size < length - start;
  const int64_t margin = overlap / 4;
  const int64_t ramp = overlap - 2 * margin;
  const int64_t reach = margin + ramp;  // distances from a side that get less than 1
  for (int64_t i = 0; i < inside; ++i) {
    double v = 1.0;
    if (left && i < reach) v = std::min(v, ramp_weight(i, margin, ramp));
    const int64_t d = size - 1 - i;  // >= 0: i < inside <= size
    if (right && d < reach) v = std::min(v, ramp_weight(d, margin, ramp));
    w[static_cast<size_t>(i)] = v;
  }
  return w;
}

TileMerger::TileMerger(const ImageView& dst, std::vector<int64_t> row_starts,
                       std::vector<int64_t> col_starts, int64_t tile_h, int64_t tile_w,
                       int64_t overlap, const Normalize& norm, bool clamp)
    : dst_(dst),
      norm_(norm),
      clamp_(clamp),
      height_(dst.height),
      width_(dst.width),
      channels_(dst.channels),
      row_starts_(std::move(row_starts)),
      col_starts_(std::move(col_starts)),
      tile_h_(tile_h),
      tile_w_(tile_w),
      overlap_(overlap) {
  if (height_ <= 0 || width_ <= 0) throw std::invalid_argument("merged image size must be positive");
  if (channels_ < 1 || channels_ > 4 || channels_ == 2)
    throw std::invalid_argument("merged image must have 1, 3 or 4 channels, got " + str(channels_));
  if (dst.dtype == DType::f16) throw std::invalid_argument("merged image must not be float16");
  if (dst.data == nullptr || dst.row_stride < width_ * channels_)
    throw std::invalid_argument("merge destination is not a valid image");
  if (row_starts_.empty() || col_starts_.empty() || tile_h <= 0 || tile_w <= 0)
    throw std::invalid_argument("tile grid is empty");
  if (overlap < 0) throw std::invalid_argument("overlap must be >= 0");
  // The whole image's accumulators must be addressable: the ring never exceeds it.
  size_t total;
  if (mul_overflows(static_cast<size_t>(height_), static_cast<size_t>(width_), &total) ||
      mul_overflows(total, static_cast<size_t>(channels_ + 1) * sizeof(float), &total) ||
      total > static_cast<size_t>(PTRDIFF_MAX))
    throw std::invalid_argument("merged image " + str(height_) + "x" + str(width_) + "x" +
                                str(channels_) + " is too large");
  size_t tiles;
  if (mul_overflows(row_starts_.size(), col_starts_.size(), &tiles) ||
      tiles > static_cast<size_t>(kMaxTiles))
    throw std::invalid_argument("tile grid of " + std::to_string(row_starts_.size()) + " x " +
                                std::to_string(col_starts_.size()) + " tiles is too large (at most " +
                                str(kMaxTiles) + " tiles)");
  check_axis(row_starts_, tile_h, height_, overlap, "row");
  check_axis(col_starts_, tile_w, width_, overlap, "column");
  added_.assign(tiles, 0);
  row_added_.assign(row_starts_.size(), 0);
  own_rows_ = own_spans(row_starts_, tile_h, height_, overlap);
  own_cols_ = own_spans(col_starts_, tile_w, width_, overlap);
  owned_row_.assign(static_cast<size_t>(height_), 0);
  for (const auto& [a, b] : own_rows_)
    std::fill(owned_row_.begin() + a, owned_row_.begin() + b, uint8_t{1});
  int64_t x = 0;  // own column spans are disjoint and increasing
  for (const auto& [a, b] : own_cols_) {
    if (a == b) continue;
    if (a > x) blend_cols_.emplace_back(x, a);
    x = b;
  }
  if (x < width_) blend_cols_.emplace_back(x, width_);
}

size_t TileMerger::ring_bytes(int64_t rows) const {
  return static_cast<size_t>(rows) * static_cast<size_t>(width_) *
         static_cast<size_t>(channels_ + 1) * sizeof(float);
}

int64_t TileMerger::rows_done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lo_;
}

size_t TileMerger::accumulator_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return ring_bytes(cap_);
}

size_t TileMerger::peak_accumulator_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_bytes_;
}

void TileMerger::open_rows(int64_t end) {
  if (end <= hi_) return;
  const int64_t need = end - lo_;
  if (need > cap_) {
    // Grow by half again at least (so out-of-order adds do not copy the ring once per tile),
    // never beyond the image.
    const int64_t cap = std::min(height_, std::max(need, cap_ + cap_ / 2));
    const size_t plane = static_cast<size_t>(cap) * static_cast<size_t>(width_);
    LargeBuffer<float> mean(plane * static_cast<size_t>(channels_), /*zero=*/false);
    LargeBuffer<float> weight(plane, /*zero=*/false);
    const size_t row_bytes = static_cast<size_t>(width_) * sizeof(float);
    for (int64_t y = lo_; y < hi_; ++y) {  // move the open rows to their new slots
      const size_t slot = static_cast<size_t>(y % cap) * static_cast<size_t>(width_);
      for (int64_t c = 0; c < channels_; ++c)
        std::memcpy(mean.data() + static_cast<size_t>(c) * plane + slot, mean_row(c, y), row_bytes);
      std::memcpy(weight.data() + slot, weight_row(y), row_bytes);
    }
    peak_bytes_ = std::max(peak_bytes_, ring_bytes(cap_) + ring_bytes(cap));
    mean_ = std::move(mean);
    weight_ = std::move(weight);
    cap_ = cap;
  }
  // New rows start with no weight (at the pixels that are blended); their mean needs no zeroing
  // (a first contribution replaces it).
  for (int64_t y = hi_; y < end; ++y) {
    if (!owned_row_[static_cast<size_t>(y)]) {
      std::fill_n(weight_row(y), width_, 0.0f);
      continue;
    }
    for (const auto& [a, b] : blend_cols_) std::fill_n(weight_row(y) + a, b - a, 0.0f);
  }
  hi_ = end;
}

void TileMerger::convert_rows(int64_t b, int64_t e, ThreadPool& pool) {
  // Rows [b, e) sit in contiguous ring slots and are all owned rows or all not.
  const size_t item = dtype_size(dst_.dtype);
  const TensorView ring{mean_.data(), DType::f32, 1, channels_, cap_, width_};
  ImageView band = dst_;
  band.data = static_cast<char*>(dst_.data) +
              static_cast<size_t>(b) * static_cast<size_t>(dst_.row_stride) * item;
  band.height = e - b;
  if (!owned_row_[static_cast<size_t>(b)]) {
    from_tensor(ring, b % cap_, 0, &band, 1, norm_, clamp_, &pool);
    return;
  }
  for (const auto& [x0, x1] : blend_cols_) {  // the owned columns are in dst already
    ImageView part = band;
    part.data = static_cast<char*>(band.data) +
                static_cast<size_t>(x0) * static_cast<size_t>(channels_) * item;
    part.width = x1 - x0;
    from_tensor(ring, b % cap_, x0, &part, 1, norm_, clamp_, &pool);
  }
}

void TileMerger::finalise_rows(int64_t end, ThreadPool& pool) {
  while (lo_ < end) {
    const int64_t slot = lo_ % cap_;
    int64_t n = std::min(end - lo_, cap_ - slot);  // contiguous slots
    const uint8_t owned = owned_row_[static_cast<size_t>(lo_)];
    for (int64_t k = 1; k < n; ++k)
      if (owned_row_[static_cast<size_t>(lo_ + k)] != owned) {
        n = k;
        break;
      }
    convert_rows(lo_, lo_ + n, pool);
    lo_ += n;
  }
  if (lo_ == height_) {  // done: give the ring back
    mean_ = LargeBuffer<float>();
    weight_ = LargeBuffer<float>();
    cap_ = 0;
    hi_ = lo_;
  }
}

void TileMerger::blend_rows(const TensorView& tiles, int64_t t, size_t gr, size_t gc,
                            const float* wy, const float* wx, int64_t b, int64_t e) {
  const size_t item = dtype_size(tiles.dtype);
  const int64_t y0 = row_starts_[gr], x0 = col_starts_[gc];
  const int64_t n = std::min(tile_w_, width_ - x0);
  std::vector<float> ratio(static_cast<size_t>(n));
  const bool avx2 = cpu_has_avx2();
  // The blended columns that meet this tile: from the first span ending after x0.
  const auto first = std::partition_point(blend_cols_.begin(), blend_cols_.end(),
                                          [x0](const auto& span) { return span.second <= x0; });
  blend_detail::BlendRow row{};
  row.ratio = ratio.data();
  row.channels = channels_;
  row.half = tiles.dtype == DType::f16;
  for (int64_t y = b; y < e; ++y) {
    const int64_t oy = y0 + y;
    auto blend = [&](int64_t a, int64_t z) {  // output columns [a, z) of this row
      row.wsum = weight_row(oy) + a;
      row.wx = wx + (a - x0);
      row.wy = wy[y];
      row.n = z - a;
      for (int64_t c = 0; c < channels_; ++c) {
        row.mean[c] = mean_row(c, oy) + a;
        const int64_t off = ((t * channels_ + c) * tile_h_ + y) * tile_w_ + (a - x0);
        row.src[c] = static_cast<const char*>(tiles.data) + static_cast<size_t>(off) * item;
      }
      avx2 ? avx2::blend_tile_row(row) : baseline::blend_tile_row(row);
    };
    if (!owned_row_[static_cast<size_t>(oy)]) {
      blend(x0, x0 + n);
      continue;
    }
    for (auto it = first; it != blend_cols_.end() && it->first < x0 + n; ++it)
      blend(std::max(it->first, x0), std::min(it->second, x0 + n));
  }
}

void TileMerger::add(const TensorView& tiles, const int64_t* indices, ThreadPool& pool) {
  if (tiles.channels != channels_ || tiles.height != tile_h_ || tiles.width != tile_w_)
    throw std::invalid_argument("tiles must be (N, " + str(channels_) + ", " + str(tile_h_) + ", " +
                                str(tile_w_) + "), got (N, " + str(tiles.channels) + ", " +
                                str(tiles.height) + ", " + str(tiles.width) + ")");
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t cols = static_cast<int64_t>(col_starts_.size());
  int64_t end = hi_;
  for (int64_t t = 0; t < tiles.batch; ++t) {
    const int64_t idx = indices[t];
    if (idx < 0 || idx >= num_tiles())
      throw std::invalid_argument("tile index " + str(idx) + " out of range [0, " +
                                  str(num_tiles()) + ")");
    for (int64_t u = 0; u < t; ++u)
      if (indices[u] == idx) throw std::invalid_argument("tile " + str(idx) + " was added twice");
    if (added_[static_cast<size_t>(idx)])
      throw std::invalid_argument("tile " + str(idx) + " was added twice");
    const int64_t y0 = row_starts_[static_cast<size_t>(idx / cols)];
    end = std::max(end, y0 + std::min(tile_h_, height_ - y0));
  }
  // Every tile's rows are >= lo_: rows below lo_ belong only to complete grid rows.
  open_rows(end);
  const size_t item = dtype_size(tiles.dtype);
  const size_t out_item = dtype_size(dst_.dtype);
  for (int64_t t = 0; t < tiles.batch; ++t) {
    const int64_t idx = indices[t];
    const size_t gr = static_cast<size_t>(idx / cols), gc = static_cast<size_t>(idx % cols);
    const int64_t y0 = row_starts_[gr], x0 = col_starts_[gc];
    // The pixels this tile alone weighs: straight from the tile into dst.
    const auto [oy0, oy1] = own_rows_[gr];
    const auto [ox0, ox1] = own_cols_[gc];
    if (oy0 < oy1 && ox0 < ox1) {
      const TensorView one{static_cast<char*>(tiles.data) +
                               static_cast<size_t>(t * channels_ * tile_h_ * tile_w_) * item,
                           tiles.dtype, 1, channels_, tile_h_, tile_w_};
      ImageView part = dst_;
      part.data = static_cast<char*>(dst_.data) +
                  (static_cast<size_t>(oy0) * static_cast<size_t>(dst_.row_stride) +
                   static_cast<size_t>(ox0) * static_cast<size_t>(channels_)) * out_item;
      part.height = oy1 - oy0;
      part.width = ox1 - ox0;
      from_tensor(one, oy0 - y0, ox0 - x0, &part, 1, norm_, clamp_, &pool);
    }
    // The rest of it (overlap bands) into the accumulators.
    const std::vector<double> wy_d = tile_weights(y0, tile_h_, height_, overlap_);
    const std::vector<double> wx_d = tile_weights(x0, tile_w_, width_, overlap_);
    const std::vector<float> wy(wy_d.begin(), wy_d.end()), wx(wx_d.begin(), wx_d.end());
    const int64_t rows = static_cast<int64_t>(wy.size()), n = static_cast<int64_t>(wx.size());
    pool.parallel_for(rows, std::max<int64_t>(1, 8192 / (n * channels_)), [&](int64_t b, int64_t e) {
      blend_rows(tiles, t, gr, gc, wy.data(), wx.data(), b, e);
    });
    added_[static_cast<size_t>(idx)] = 1;
    ++row_added_[gr];
  }
  // Rows below the first incomplete grid row's start are final: no tile still missing covers them.
  while (next_row_ < row_added_.size() && row_added_[next_row_] == cols) ++next_row_;
  finalise_rows(next_row_ < row_starts_.size() ? row_starts_[next_row_] : height_, pool);
}

void TileMerger::finish() const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < added_.size(); ++i)
    if (!added_[i])
      throw std::logic_error("tile " + std::to_string(i) + " was never added before finish()");
}

}  // namespace imgen
