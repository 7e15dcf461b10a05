// Layout conversion between interleaved images (HWC; uint8/uint16/float32) and planar float tensors
// (NCHW; float32/float16), fused with scaling, per-channel mean/std and an optional R<->B swap.
//
//   tensor = (pixel * scale - mean[c]) / std[c]            (to_tensor)
//   pixel  = (tensor * std[c] + mean[c]) / scale           (from_tensor; rounded and clamped for ints)
//
// mean/std are indexed by *tensor* channel.  With swap_rb, tensor channel 0 holds image channel 2
// and vice versa (BGR<->RGB, BGRA<->RGBA: alpha stays last).
#pragma once

#include <cstdint>

#include "common/image.hpp"
#include "common/thread_pool.hpp"

namespace imgen {

struct Normalize {
  float scale = 1.0f;
  float mean[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float std[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  bool swap_rb = false;
};

// A rectangle of an image, in pixels.  It may reach outside the image: outside pixels are taken by
// reflection about the edge pixel (numpy "reflect", OpenCV BORDER_REFLECT_101), repeatedly if needed.
// The kernels add offsets to y and x and negate them: callers keep y, y + height, x and x + width
// within [-2**62, 2**62] (the bindings reject other regions), so that nothing overflows int64.
struct Region {
  int64_t y = 0;
  int64_t x = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// `pool` may be null: the work then runs on the calling thread.

// Writes regions[i] of images[i] into dst item i, for i in [0, count).  All regions have dst's
// height and width; all images have dst.channels channels (1, 3 or 4) and may differ in size.
void to_tensor(const ImageView* images, const Region* regions, int64_t count, const TensorView& dst,
               const Normalize& norm, ThreadPool* pool);

// Writes the window (crop.y, crop.x, dst height, dst width) of src item i into dsts[i], for i in
// [0, count).  The window must lie inside src's plane (the caller checks; it is read unchecked).
// Integer outputs are rounded half-to-even and clamped to the type's range (NaN -> 0);
// float outputs are clamped to the image range [0, 1] only when `clamp` is set (NaN -> 0 then),
// after the inverse normalisation, whatever scale/mean/std were.
void from_tensor(const TensorView& src, int64_t crop_y, int64_t crop_x, const ImageView* dsts,
                 int64_t count, const Normalize& norm, bool clamp, ThreadPool* pool);

// Maps a coordinate outside [0, n) back inside by reflection about the edge pixels.
inline int64_t reflect_index(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// Which SIMD level the conversion kernels run with on this CPU: "avx2" or "baseline".
const char* convert_simd_level();

}  // namespace imgen
