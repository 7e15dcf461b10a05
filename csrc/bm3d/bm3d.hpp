// BM3D image denoising (Dabov, Foi, Katkovnik, Egiazarian, IEEE TIP 2007), gray and colour (CBM3D).
//
// Stage 1 (hard thresholding) groups similar blocks of the noisy image, filters each group by hard
// thresholding in a 3-D transform domain (2-D bior1.5 per block, 1-D Haar along the group) and
// aggregates the blocks with Kaiser-windowed weights into a basic estimate.  Stage 2 (Wiener)
// groups blocks again, matched on the basic estimate, and applies the empirical Wiener filter the
// basic estimate's 3-D (DCT x Haar) spectrum defines to the noisy group.
//
// Colour images go through the opponent colour transform; blocks are matched on the luminance
// channel and the chroma channels share the luminance groups.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bm3d/transforms.hpp"
#include "common/image.hpp"
#include "common/thread_pool.hpp"

namespace imgen::bm3d {

// Parameters of one stage.  Distances and thresholds are on the 0-255 scale whatever the dtype.
// The fields are wide (int64_t, double) so that validate() sees what the caller asked for; the
// kernels narrow them to int / float once validated.
struct StageParams {
  int64_t block_size = 8;      // blocks are block_size x block_size pixels (2..16)
  int64_t step = 3;            // reference blocks every `step` pixels (1..block_size; the last
                               // row/column always): a larger step leaves pixels uncovered
  int64_t search_window = 39;  // full search over a search_window^2 neighbourhood (odd, 1..255)
  int64_t max_blocks = 16;     // most blocks per group, a power of two (1..64)
  double tau_match = 3000;     // largest mean squared block difference a match may have
  double beta = 2.0;           // Kaiser window parameter for the aggregation (0..50)
  Transform2D transform = Transform2D::bior15;
};

// hard: the basic estimate; both: hard, then Wiener; wiener: the Wiener stage alone, with a pilot
// (basic estimate) the caller gives.
enum class Stages { hard, both, wiener };

struct Params {
  // Noise standard deviation as a fraction of the full range (25 on the 0-255 scale: 25 / 255),
  // whatever the image's dtype.
  double sigma = 25.0 / 255.0;
  Stages stages = Stages::both;
  StageParams hard{};
  // Both stages take each 3-D coefficient's exact noise variance v sigma^2 (overlapping blocks of
  // a group share noise; Makinen, Azzari, Foi 2020) where the 2007 paper takes sigma^2.
  double lambda_3d = 2.7;   // stage-1 threshold: lambda_3d * sigma * sqrt(v)
  double mu2 = 0.7;         // stage-2 shrinkage B^2 / (B^2 + mu2 * sigma^2 v)
  StageParams wiener{8, 3, 39, 32, 3200.0, 2.0, Transform2D::dct};
};

// Upper bounds of the supported ranges (the lower bounds are 0, or 1 / 2 for sizes).  Each keeps
// the float arithmetic of the kernels finite with the others at their bounds -- mu2 * sigma^2 is
// at most 6.5e10 (sigma on the kernels' 0-255 scale), tau_match * block_size^2 at most 2.6e32
// (float: 3.4e38) -- and lies at or beyond any useful value: noise as strong as the full range,
// a lambda_3d of 1000 or a mu2 of 1e6 removes everything, a 255^2 search window is 43 times the
// default's work per block.
inline constexpr double kMaxSigma = 1.0;
inline constexpr double kMaxLambda3d = 1000.0;
inline constexpr double kMaxMu2 = 1e6;
inline constexpr double kMaxTauMatch = 1e30;
inline constexpr double kMaxBeta = 50.0;  // I0(beta) overflows float weights far beyond 50
inline constexpr int64_t kMaxSearchWindow = 255;

// The profile for a noise level `sigma` (a fraction of the full range): the authors' normal
// profile (8x8 blocks, step 3, 39x39 search, 16 / 32 blocks, bior1.5 / DCT, Kaiser beta 2) with
// the values measured to match the reference package's 2020 release (BENCHMARKS.md): lambda_3d
// 2.7, mu2 0.7, tau_match 3000 (6.4 sigma^2 when larger) / 3200, 16 blocks per Wiener group;
// above 40 on the 0-255 scale lambda_3d 2.8, mu2 0.6, 32 blocks per Wiener group and Wiener
// step 4.
Params default_params(double sigma);

// The one check of the parameters' ranges (the bindings only convert types).  Throws
// std::invalid_argument naming the first parameter outside its supported range, as its Python
// keyword (sigma, step_hard, tau_match_wiener, ...), and that range:
//   "step_hard must be in 1..8 (at most block_size_hard), got 12".
// `given` (optional) maps keywords to the values as the caller wrote them, quoted instead of the
// field's value -- for callers that had to saturate or rescale a value to store it (a Python int
// beyond int64, a number beyond the double range).
void validate(const Params& p, const std::map<std::string, std::string>* given = nullptr);

// Denoises src into dst (same height, width and channels: 1 or 3; any of uint8/uint16/float32,
// dst may differ from src in dtype).  Pixel units: 0-255 for uint8, 0-65535 for uint16, 0-1 for
// float32 -- `p.sigma` is always a fraction of the full range.  Integer outputs are rounded and clamped;
// float outputs are not clamped.  Non-finite input pixels throw std::invalid_argument.  src and dst
// may not overlap.  Results do not depend on the pool size; `pool` may be null.
// `pilot` (Stages::wiener only, required there): the basic estimate the Wiener stage matches
// blocks on and takes its shrinkage from, the shape of src, in its own dtype's units.
void denoise(const ImageView& src, const ImageView& dst, const Params& p, ThreadPool* pool,
             const ImageView* pilot = nullptr);

// Which SIMD level the BM3D kernels run with on this CPU: "avx2" or "baseline".
const char* simd_level();

// Test hooks running the kernels' own code paths.
// The separable 2-D transform of `count` n x n blocks: dst = M * src * M^T with M the forward
// (or, with inverse, the inverse) matrix of `t`.
void transform_blocks(Transform2D t, int n, bool inverse, const float* src, float* dst,
                      int64_t count);
// The 1-D Haar transform along a group of `count` (a power of two) vectors of `len` floats.
void haar_group(float* data, int count, int len, bool inverse);

}  // namespace imgen::bm3d
