// Exemplar-based inpainting ("content-aware fill"): Wexler, Shechtman & Irani, "Space-Time
// Completion of Video" (PAMI 2007), with the nearest-neighbour field found by PatchMatch (Barnes,
// Shechtman, Finkelstein & Goldman, SIGGRAPH 2009).
//
// A mask-aware image pyramid (a coarse pixel is missing when any of its children is); at the
// coarsest level the holes start from an onion-peel fill.  At each level, a few EM iterations:
// the nearest-neighbour field from every patch that touches the hole to a fully known source
// patch (PatchMatch: propagation from neighbours at halving jump distances, then random search
// over halving radii), then a vote -- each missing pixel becomes the similarity-weighted mean of
// the pixels the overlapping patches' matches put there.  The field is upsampled to the next level.
//
// Deterministic for a given seed, and independent of the thread count: every propagation pass
// reads the previous pass's field (Jacobi order), the vote gathers per pixel, and each pixel's
// random numbers come from a hash of (seed, level, iteration, pass, pixel).
#pragma once

#include <cstdint>

#include "common/image.hpp"
#include "common/thread_pool.hpp"

namespace imgen::inpaint {

struct PatchMatchParams {
  int64_t patch_size = 7;     // patches are patch_size x patch_size pixels (odd, 3..31)
  int64_t em_iterations = 3;  // search + vote rounds per level (1..50); the coarsest level runs twice as many
  int64_t pm_passes = 4;      // propagation + random-search passes per round (1..16)
  int64_t max_levels = 0;     // pyramid levels (0 = as many as keep a source patch, 1..16 otherwise)
  uint64_t seed = 0;
};

inline constexpr int64_t kMaxPatchSize = 31;
inline constexpr int64_t kMaxEmIterations = 50;
inline constexpr int64_t kMaxPmPasses = 16;
inline constexpr int64_t kMaxLevels = 16;
// The largest side an image may have (coordinates are kept as int32 in the field).
inline constexpr int64_t kMaxSide = int64_t{1} << 30;

// The one check of the parameters.  Throws std::invalid_argument naming the first parameter
// outside its range, as its Python keyword: "patch_size must be odd and in 3..31, got 8".
void validate(const PatchMatchParams& p);

// Fills the pixels of `src` that `mask` marks (nonzero = missing) and writes the result to `dst`
// (same shape and dtype as src: uint8 / uint16 / float32, 1-4 channels).  mask: an ImageView of
// one uint8 channel, src's height and width.  Pixels outside the mask are copied exactly; filled
// integer pixels are rounded and clamped.  Missing pixels' input values are never read.
// Throws std::invalid_argument when the image is smaller than a patch, when a known float sample
// is not finite, or when no patch_size x patch_size patch is fully known (nothing to copy from).
// Memory: about 40 + 8 * channels bytes per pixel.  `pool` may be null.
void fill(const ImageView& src, const ImageView& mask, const ImageView& dst,
          const PatchMatchParams& p, ThreadPool* pool);

}  // namespace imgen::inpaint
