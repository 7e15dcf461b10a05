// Tiling for models run on parts of a large image: a grid of overlapping tiles, and a merger that
// blends tile outputs back with separable raised-cosine (Hann / half-sine) ramps over the overlaps.
//
// Each output pixel is the weighted mean sum(w_i * x_i) / sum(w_i) of the tiles covering it, kept
// as a running mean m += w / (W + w) * (x - m).  That form is exact for identical contributions, so
// an identity model gives back its input bit for bit in float32, and it needs no normalising pass.
#pragma once

#include <cstdint>
#include <vector>

#include "common/buffer.hpp"
#include "common/image.hpp"
#include "common/thread_pool.hpp"
#include "preprocess/convert.hpp"

namespace imgen {

// Tile starts along one axis of `length` pixels.  The tile size is `tile` rounded down to a
// multiple of `multiple`; an axis no longer than that gets one tile of `length` rounded *up* to
// `multiple` (the excess is filled by reflection), otherwise tiles lie inside the image, `tile -
// overlap` apart, the last one flush with the end.  Throws std::invalid_argument on bad sizes.
struct AxisPlan {
  std::vector<int64_t> starts;
  int64_t size = 0;
};
AxisPlan plan_axis(int64_t length, int64_t tile, int64_t overlap, int64_t multiple);

// The 1-D blending weights of a tile starting at `start` with `size` pixels on an axis of
// `length` pixels.  On each side that has a neighbour (a side at the image edge keeps weight 1),
// the outer overlap/4 pixels get weight 0 (they lack context: a model's receptive field reaches
// past the tile there), then a half-sine ramp sin^2 rises to 1 over the rest of the overlap
// minus its inner quarter.  Two tiles that overlap by `overlap` pixels therefore have
// complementary ramps (weights summing to 1) and every pixel keeps a positive total weight.
std::vector<double> tile_weights(int64_t start, int64_t size, int64_t length, int64_t overlap);

// Accumulates tile outputs (NCHW float32/float16) on a grid of tile rows x tile columns, in output
// coordinates, and writes the blended image.  Tiles may extend past the image; the excess is cropped.
class TileMerger {
 public:
  TileMerger(int64_t height, int64_t width, int64_t channels, std::vector<int64_t> row_starts,
             std::vector<int64_t> col_starts, int64_t tile_h, int64_t tile_w, int64_t overlap);

  int64_t height() const { return height_; }
  int64_t width() const { return width_; }
  int64_t channels() const { return channels_; }
  int64_t num_tiles() const {
    return static_cast<int64_t>(row_starts_.size() * col_starts_.size());
  }
  int64_t tile_height() const { return tile_h_; }
  int64_t tile_width() const { return tile_w_; }

  // Adds tiles.batch tiles; tile i of the batch is grid tile indices[i] (row-major).  Each grid
  // tile must be added exactly once before finish().
  void add(const TensorView& tiles, const int64_t* indices, ThreadPool& pool);

  // Writes the blended image into dst (HWC, height x width x channels), converting as
  // from_tensor does.  Throws std::logic_error if some tile was never added.
  void finish(const ImageView& dst, const Normalize& norm, bool clamp, ThreadPool& pool) const;

 private:
  int64_t height_, width_, channels_;
  std::vector<int64_t> row_starts_, col_starts_;
  int64_t tile_h_, tile_w_;
  std::vector<std::vector<float>> row_w_, col_w_;  // per grid row / column
  LargeBuffer<float> mean_;                        // C x H x W running weighted mean
  LargeBuffer<float> weight_;                      // H x W weight accumulated so far
  std::vector<uint8_t> added_;
};

}  // namespace imgen
