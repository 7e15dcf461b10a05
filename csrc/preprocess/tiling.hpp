// Tiling for models run on parts of a large image: a grid of overlapping tiles, and a merger that
// blends tile outputs back with separable raised-cosine (Hann / half-sine) ramps over the overlaps.
//
// Each output pixel is the weighted mean sum(w_i * x_i) / sum(w_i) of the tiles covering it, kept
// as a running mean m += w / (W + w) * (x - m).  That form is exact for identical contributions, so
// an identity model gives back its input bit for bit in float32, and it needs no normalising pass.
//
// Where one tile alone has a positive weight (a tile's interior, and the outer overlap/4 of a
// neighbour's zero-weight margin), that mean is the tile's value itself: add() converts those
// pixels straight from the tile into the output and leaves the accumulators alone there; only the
// overlap bands (pixels that two or more tiles weigh) are blended and converted at the end.
// The result is bit for bit the same as blending every pixel, except that a NaN/inf in a tile's
// zero-weight margin no longer reaches a pixel that another tile owns.
//
// Memory: the merger writes straight into the caller's output image (in its own dtype) and keeps
// float accumulators only for the output rows still open, in a ring of rows that is reused; a row
// is converted and released as soon as every grid row covering it is complete.  With tiles added
// in row-major order the ring holds about one tile height plus one stride of rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "common/buffer.hpp"
#include "common/image.hpp"
#include "common/thread_pool.hpp"
#include "preprocess/convert.hpp"

namespace imgen {

// At most this many tiles in a grid (plan_axis per axis, TileMerger in all): a grid beyond it
// comes from absurd sizes (a huge image in tiny tiles) and is refused rather than allocated.
inline constexpr int64_t kMaxTiles = int64_t{1} << 24;

// Tile starts along one axis of `length` pixels.  The tile size is `tile` rounded down to a
// multiple of `multiple`; an axis no longer than that gets one tile of `length` rounded *up* to
// `multiple` (the excess is filled by reflection), otherwise tiles start at multiples of
// `multiple`, `tile - overlap` (rounded down to the multiple) apart, the last one at `length -
// tile` rounded up to the multiple: with multiple 1 flush with the end, else reaching past it by
// less than `multiple` (filled by reflection).  Where `tile - overlap` is less than `multiple`,
// starts are `tile - overlap` apart, unaligned, the last flush with the end.  Starts are strictly
// increasing.  Throws
// std::invalid_argument on bad sizes or more than kMaxTiles tiles.
struct AxisPlan {
  std::vector<int64_t> starts;
  int64_t size = 0;
};
AxisPlan plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t multiple);

// The 1-D blending weights of a tile starting at `start` with `size` pixels on an axis of
// `length` pixels, for the part inside the axis (min(size, length - start) values).  On each side
// that has a neighbour (a side at the image edge keeps weight 1), the outer overlap/4 pixels get
// weight 0 (they lack context: a model's receptive field reaches past the tile there), then a
// half-sine ramp sin^2 rises to 1 over the rest of the overlap minus its inner quarter.  Two tiles
// that overlap by `overlap` pixels therefore have complementary ramps (weights summing to 1).
std::vector<double> tile_weights(int64_t start, int64_t size, int64_t length, int64_t overlap);

// Blends tile outputs (NCHW float32/float16) on a grid of tile rows x tile columns, in output
// coordinates, into a destination image.  Tiles may extend past the image; the excess is cropped.
// Thread-safe: concurrent add() calls on one merger are serialised.
class TileMerger {
 public:
  // dst: the HWC output, height x width x channels (1, 3 or 4), uint8/uint16/float32; it must
  // outlive the merger.  Rows are converted into it as from_tensor does (norm, clamp).  Starts
  // must be strictly increasing, inside the image, and cover it.  Throws std::invalid_argument.
  TileMerger(const ImageView& dst, std::vector<int64_t> row_starts, std::vector<int64_t> col_starts,
             int64_t tile_h, int64_t tile_w, int64_t overlap, const Normalize& norm, bool clamp);

  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int64_t channels() const { return channels_; }
  int64_t num_tiles() const {
    return static_cast<int64_t>(row_starts_.size() * col_starts_.size());
  }
  int64_t tile_height() const { return tile_h_; }
  int64_t tile_width() const { return tile_w_; }

  // Adds tiles.batch tiles; tile i of the batch is grid tile indices[i] (row-major), then
  // converts every output row that no tile still missing can touch into dst.  Each grid tile
  // must be added exactly once; a bad batch throws std::invalid_argument and changes nothing.
  void add(const TensorView& tiles, const int64_t* indices, ThreadPool& pool);

  // Checks that the image is complete (every row is in dst by then).  Throws std::logic_error
  // if some tile was never added.
  void finish() const;

  // Output rows already converted into dst (rows [0, rows_done()) are final).
  int64_t rows_done() const;
  // Bytes of float accumulators held now, and the most held at once (including the moment a
  // growing ring holds its old and new storage).
  size_t accumulator_bytes() const;
  size_t peak_accumulator_bytes() const;

 private:
  void open_rows(int64_t end);                 // accumulate rows up to `end` (grows the ring)
  void finalise_rows(int64_t end, ThreadPool& pool);  // convert rows [lo_, end) into dst
  size_t ring_bytes(int64_t rows) const;
  // Blends rows [b, e) of batch tile t (grid row gr, column gc) into the ring, at its blended pixels.
  void blend_rows(const TensorView& tiles, int64_t t, size_t gr, size_t gc, const float* wy,
                  const float* wx, int64_t b, int64_t e);
  // Converts rows [b, e) of the ring into dst: whole rows, or their blended columns only.
  void convert_rows(int64_t b, int64_t e, ThreadPool& pool);
  float* mean_row(int64_t c, int64_t y) { return mean_.data() + (c * cap_ + y % cap_) * width_; }
  float* weight_row(int64_t y) { return weight_.data() + (y % cap_) * width_; }

  ImageView dst_;
  Normalize norm_;
  bool clamp_;
  int64_t height_, width_, channels_;
  std::vector<int64_t> row_starts_, col_starts_;
  int64_t tile_h_, tile_w_, overlap_;
  // Pixels that one tile alone weighs: rows own_rows_[r] of grid row r, columns own_cols_[c] of
  // grid column c (half-open, may be empty).  A pixel is owned iff its row and its column are.
  std::vector<std::pair<int64_t, int64_t>> own_rows_, own_cols_;
  std::vector<uint8_t> owned_row_;         // per output row: in some own_rows_ span
  std::vector<std::pair<int64_t, int64_t>> blend_cols_;  // columns in no own_cols_ span
  std::vector<uint8_t> added_;             // per grid tile
  std::vector<int64_t> row_added_;         // tiles added per grid row
  size_t next_row_ = 0;                    // first grid row not yet complete
  // Open output rows [lo_, hi_) live in a ring of cap_ rows: row y in slot y % cap_.
  int64_t lo_ = 0, hi_ = 0, cap_ = 0;
  LargeBuffer<float> mean_;                // C x cap_ x W running weighted mean
  LargeBuffer<float> weight_;              // cap_ x W weight accumulated so far
  size_t peak_bytes_ = 0;
  mutable std::mutex mutex_;
};

}  // namespace imgen
