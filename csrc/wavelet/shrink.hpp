// Wavelet shrinkage denoising (BayesShrink / VisuShrink, soft / hard) over dwt.hpp, with optional
// cycle spinning (translation invariance) and colour handled in YCbCr like scikit-image's
// denoise_wavelet(convert2ycbcr=True).
#pragma once

#include <cstdint>

#include "common/image.hpp"
#include "common/thread_pool.hpp"
#include "wavelet/dwt.hpp"
#include "wavelet/filters.hpp"

namespace imgen::wavelet {

enum class ThresholdMethod {
  bayes,  // per band: sigma^2 / sqrt(max(mean(d^2) - sigma^2, eps))  (Chang, Yu, Vetterli 2000)
  visu,   // one universal threshold: sigma * sqrt(2 ln(H * W))       (Donoho, Johnstone 1994)
};

enum class ThresholdMode { soft, hard };

struct DenoiseParams {
  const Wavelet* wavelet = nullptr;  // required
  int levels = 0;                    // 0: default_levels()
  ThresholdMethod method = ThresholdMethod::bayes;
  ThresholdMode mode = ThresholdMode::soft;
  int shifts = 1;       // cycle-spinning offsets averaged (1: the plain transform); see shift_offset
  // Noise standard deviation as a fraction of the full range (25 on the 0-255 scale: 25 / 255),
  // whatever the dtype; < 0: estimate it per plane (gray, Y, Cb, Cr) from
  // the finest diagonal band of the chosen wavelet, as scikit-image does.
  double sigma = -1.0;
  // Given thresholds, [plane][level][band] (levels finest first; bands H, V, D), used as they are
  // for every shift instead of thresholds computed from this image (sigma is then not used): how
  // a large image denoised in tiles (imgen.denoise.wavelet) applies the thresholds of the whole
  // image to each tile.  null: compute them.  Holds nplanes * levels * 3 values.
  const float* thresholds = nullptr;
};

// scikit-image's default: three less than the most levels pywt allows, at least 1.
int default_levels(int64_t height, int64_t width, int filter_len);
// The most levels the denoiser accepts: pywt.dwtn_max_level, at least 1.
int max_levels(int64_t height, int64_t width, int filter_len);

// The (dy, dx) offset of cycle-spinning shift s: s's bits de-interleaved (Morton order), so
// shifts = 4 covers every offset in [0, 2)^2 (level 1 fully shift-invariant), 16 every offset in
// [0, 4)^2, 64 every offset in [0, 8)^2.
void shift_offset(int s, int64_t* dy, int64_t* dx);

// Donoho's noise estimate from a finest-level diagonal band (scikit-image's _sigma_est_dwt):
// median(|d|) / 0.6745 over the non-zero coefficients; 0 when there are none.
double estimate_sigma(const Plane& band);

// Denoises src into dst (same size, channels and dtype; u8/u16/f32).  1 channel: gray; 3: RGB
// denoised as Y, Cb, Cr planes (scikit-image's ycbcr_from_rgb without offsets; a given sigma is
// carried into each plane as sigma * |row|); 4: RGB as for 3, alpha copied.  Integer outputs are
// rounded to nearest and clamped; float outputs are not clamped.  Results do not depend on the
// thread count.  pool may be null.
void denoise(const ImageView& src, const ImageView& dst, const DenoiseParams& params,
             ThreadPool* pool);

}  // namespace imgen::wavelet
