#include "metrics/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cpu_features.hpp"
#include "metrics/metrics_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "metrics/metrics_kernels.inl"
#undef IMGEN_SIMD_NS

namespace imgen {
namespace {

using metrics_detail::MseJob;
using metrics_detail::SsimJob;

void check_pair(const ImageView& a, const ImageView& b, const char* fn) {
  if (a.dtype != b.dtype || a.height != b.height || a.width != b.width ||
      a.channels != b.channels)
    throw std::invalid_argument(std::string(fn) + ": the images differ in size, channels or dtype");
  if (a.dtype == DType::f16)
    throw std::invalid_argument(std::string(fn) + ": float16 images are not supported");
  if (a.channels != 1 && a.channels != 3 && a.channels != 4)
    throw std::invalid_argument(std::string(fn) + ": images must have 1, 3 or 4 channels");
  if (a.height <= 0 || a.width <= 0)
    throw std::invalid_argument(std::string(fn) + ": the images are empty");
}

// Rows per task: about 16k samples of work, so that small images stay on one thread.
int64_t row_grain(int64_t samples_per_row) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, samples_per_row));
}


}  // namespace

const char* metrics_simd_level() { return cpu_has_avx2() ? "avx2" : "baseline"; }

void ssim_window(double (&weights)[kSsimTaps]) {
  // scipy.ndimage._gaussian_kernel1d: exp(-x^2 / (2 sigma^2)) normalised to sum 1.
  double sum = 0.0;
  for (int k = 0; k < kSsimTaps; ++k) {
    const double x = static_cast<double>(k - kSsimRadius);
    weights[k] = std::exp(-0.5 / (kSsimSigma * kSsimSigma) * (x * x));
    sum += weights[k];
  }
  for (double& w : weights) w /= sum;
}

double mean_squared_error(const ImageView& a, const ImageView& b, ThreadPool* pool) {
  check_pair(a, b, "mean_squared_error");
  std::vector<double> row_sums(static_cast<size_t>(a.height));
  const MseJob job{a, b, row_sums.data()};
  const bool avx2 = cpu_has_avx2();
  run_rows(pool, a.height, 4 * row_grain(a.width * a.channels), [&](int64_t begin, int64_t end) {
    avx2 ? avx2::mse_rows(job, begin, end) : baseline::mse_rows(job, begin, end);
  });
  double total = 0.0;
  for (double s : row_sums) total += s;
  return total / static_cast<double>(a.height * a.width * a.channels);
}

double psnr_from_mse(double mse, double data_range) {
  if (mse == 0.0) return std::numeric_limits<double>::infinity();
  // Not 10 log10(data_range^2 / mse): data_range^2 underflows to 0 below 1.5e-154 (0 / 0 = NaN
  // for identical images, -inf otherwise) and overflows above 1.3e154.
  return 20.0 * std::log10(data_range) - 10.0 * std::log10(mse);
}

double ssim(const ImageView& a, const ImageView& b, const SsimParams& params, ThreadPool* pool) {
  check_pair(a, b, "ssim");
  if (a.height < kSsimTaps || a.width < kSsimTaps)
    throw std::invalid_argument("ssim: the images must be at least " + std::to_string(kSsimTaps) +
                                "x" + std::to_string(kSsimTaps) + " pixels");
  if (!(params.data_range >= kSsimMinDataRange && params.data_range <= kSsimMaxDataRange)) {
    char msg[200];
    std::snprintf(msg, sizeof msg,
                  "ssim: data_range must be in [%g, %g] (C1 = (%g data_range)^2 and C2 = (%g "
                  "data_range)^2 neither underflow nor overflow in double arithmetic), got %g",
                  kSsimMinDataRange, kSsimMaxDataRange, params.k1, params.k2, params.data_range);
    throw std::invalid_argument(msg);
  }
  const int64_t c = a.channels;
  const int64_t out_h = a.height - 2 * kSsimRadius, out_w = a.width - 2 * kSsimRadius;
  std::vector<double> row_sums(static_cast<size_t>(out_h * c));
  SsimJob job{};
  job.a = a;
  job.b = b;
  ssim_window(job.weights);
  job.c1 = (params.k1 * params.data_range) * (params.k1 * params.data_range);
  job.c2 = (params.k2 * params.data_range) * (params.k2 * params.data_range);
  job.row_sums = row_sums.data();
  const bool avx2 = cpu_has_avx2();
  const auto moments_size = static_cast<size_t>(metrics_detail::ssim_moments_size(a.width, c));
  const auto rows_size = static_cast<size_t>(metrics_detail::ssim_rows_size(a.width, c, a.dtype));
  run_rows(pool, out_h, row_grain(a.width * c), [&](int64_t begin, int64_t end) {
    std::vector<double> moments(moments_size);
    std::vector<float> rows(rows_size);
    const metrics_detail::SsimScratch scratch{moments.data(), rows.data()};
    avx2 ? avx2::ssim_rows(job, begin, end, scratch)
         : baseline::ssim_rows(job, begin, end, scratch);
  });
  // Mean over the cropped pixels per channel, then over channels.
  double mean = 0.0;
  for (int64_t k = 0; k < c; ++k) {
    double total = 0.0;
    for (int64_t i = 0; i < out_h; ++i) total += row_sums[static_cast<size_t>(i * c + k)];
    mean += total / static_cast<double>(out_h * out_w);
  }
  return mean / static_cast<double>(c);
}

}  // namespace imgen
