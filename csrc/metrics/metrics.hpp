// Full-reference image quality metrics: MSE / PSNR and the mean SSIM of Wang et al. (2004).
//
// Both images have the same height, width, channels (1, 3 or 4, interleaved) and dtype (u8, u16
// or f32; f16 is not supported).  Rows may be strided (ImageView::row_stride).  The results do not
// depend on the number of threads: per-row partial sums are added in row order.
#pragma once

#include <cstdint>

#include "common/image.hpp"
#include "common/thread_pool.hpp"

namespace imgen {

// SSIM's Gaussian window: sigma 1.5 truncated at 3.5 sigma, i.e. radius int(3.5 * 1.5 + 0.5) = 5
// and 11 taps, as in Wang et al. and scikit-image (gaussian_weights=True).
inline constexpr double kSsimSigma = 1.5;
inline constexpr int kSsimRadius = 5;
inline constexpr int kSsimTaps = 2 * kSsimRadius + 1;

// The data_range SSIM accepts.  C1 = (k1 L)^2 and C2 = (k2 L)^2 enter products of two such
// terms (with squared moments of float32 samples, at most ~1e77): L in [1e-60, 1e60] keeps them
// between ~1e-248 and ~1e233, clear of double underflow (C1 = 0: 0 / 0 for flat images) and
// overflow (inf / inf).  Both give NaN otherwise.
inline constexpr double kSsimMinDataRange = 1e-60;
inline constexpr double kSsimMaxDataRange = 1e60;

struct SsimParams {
  double data_range = 1.0;  // L, the dynamic range of the pixel values
  double k1 = 0.01;         // C1 = (k1 L)^2
  double k2 = 0.03;         // C2 = (k2 L)^2
};

// Mean of (a - b)^2 over all samples.  Sums are exact for u8/u16 and in double for f32; the result
// is NaN or infinite when a float input holds NaN or infinity.  `pool` may be null.
double mean_squared_error(const ImageView& a, const ImageView& b, ThreadPool* pool);

// 10 log10(data_range^2 / mse) in dB, computed without forming data_range^2 (any positive finite
// data_range works): +inf for mse == 0.
double psnr_from_mse(double mse, double data_range);

// Mean SSIM with the Gaussian window above and population (co)variances, computed in double:
//   S = (2 mu_a mu_b + C1)(2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))
// averaged over the pixels whose window lies inside the image (the image cropped by the window
// radius, so no border rule is needed), then over channels.  This is scikit-image's
// structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
// channel_axis=-1).  The result is NaN when a float input holds NaN or infinity.
// Throws std::invalid_argument when the images differ in size/channels/dtype or are smaller than
// the window (kSsimTaps x kSsimTaps), or when params.data_range is outside
// [kSsimMinDataRange, kSsimMaxDataRange].
double ssim(const ImageView& a, const ImageView& b, const SsimParams& params, ThreadPool* pool);

// The 1-D Gaussian weights of the window, normalised to sum 1 (scipy.ndimage's kernel).
void ssim_window(double (&weights)[kSsimTaps]);

// Which SIMD level the metric kernels run with on this CPU: "avx2" or "baseline".
const char* metrics_simd_level();

}  // namespace imgen
