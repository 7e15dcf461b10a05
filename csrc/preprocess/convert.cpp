#include "preprocess/convert.hpp"

#include <algorithm>
#include <functional>
#include <stdexcept>

#include "common/cpu_features.hpp"
#include "preprocess/convert_impl.hpp"

#define IMGEN_SIMD_NS baseline
#include "preprocess/convert_kernels.inl"
#undef IMGEN_SIMD_NS

namespace imgen {
namespace {

using convert_detail::FromTensorJob;
using convert_detail::ToTensorJob;

// Tensor plane that holds image channel k.
int plane_of_channel(int k, int64_t channels, bool swap_rb) {
  if (swap_rb && channels >= 3 && (k == 0 || k == 2)) return 2 - k;
  return k;
}

// Rows per task: enough work (~32k samples) to amortise scheduling.
int64_t row_grain(int64_t width, int64_t channels) {
  return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, width * channels));
}


}  // namespace

const char* convert_simd_level() { return cpu_has_avx2() ? "avx2" : "baseline"; }

void to_tensor(const ImageView* images, const Region* regions, int64_t count, const TensorView& dst,
               const Normalize& norm, ThreadPool* pool) {
  if (count <= 0 || dst.height <= 0 || dst.width <= 0) return;
  ToTensorJob job{};
  job.images = images;
  job.regions = regions;
  job.dst = dst;
  for (int k = 0; k < dst.channels; ++k) {
    const int p = plane_of_channel(k, dst.channels, norm.swap_rb);
    job.plane_of[k] = p;
    job.a[k] = norm.scale / norm.std[p];
    job.b[k] = -norm.mean[p] / norm.std[p];
  }
  const bool avx2 = cpu_has_avx2();
  run_rows(pool, count * dst.height, row_grain(dst.width, dst.channels), [&](int64_t b, int64_t e) {
    avx2 ? avx2::to_tensor_rows(job, b, e) : baseline::to_tensor_rows(job, b, e);
  });
}

void from_tensor(const TensorView& src, int64_t crop_y, int64_t crop_x, const ImageView* dsts,
                 int64_t count, const Normalize& norm, bool clamp, ThreadPool* pool) {
  if (count <= 0 || dsts[0].height <= 0 || dsts[0].width <= 0) return;
  FromTensorJob job{};
  job.src = src;
  job.crop_y = crop_y;
  job.crop_x = crop_x;
  job.dsts = dsts;
  for (int k = 0; k < src.channels; ++k) {
    const int p = plane_of_channel(k, src.channels, norm.swap_rb);
    job.plane_of[k] = p;
    job.a[k] = norm.std[p] / norm.scale;
    job.b[k] = norm.mean[p] / norm.scale;
  }
  switch (dsts[0].dtype) {
    case DType::u8: job.lo = 0.0f; job.hi = 255.0f; job.clamp = true; break;
    case DType::u16: job.lo = 0.0f; job.hi = 65535.0f; job.clamp = true; break;
    // A float32 image's own range, in image units (after the inverse normalisation): white = 1
    // whatever scale/mean/std mapped it to the model's range.
    default: job.lo = 0.0f; job.hi = 1.0f; job.clamp = clamp; break;
  }
  const bool avx2 = cpu_has_avx2();
  run_rows(pool, count * dsts[0].height, row_grain(dsts[0].width, src.channels),
           [&](int64_t b, int64_t e) {
             avx2 ? avx2::from_tensor_rows(job, b, e) : baseline::from_tensor_rows(job, b, e);
           });
}

}  // namespace imgen
