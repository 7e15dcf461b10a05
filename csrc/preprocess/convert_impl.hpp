// Internal: row kernels of convert.cpp, compiled once per SIMD level (see convert_kernels.inl).
#pragma once

#include <cstdint>

#include "common/image.hpp"
#include "preprocess/convert.hpp"

namespace imgen::convert_detail {

// Everything a row of to_tensor needs; a and b are indexed by *image* channel:
//   tensor[plane_of[k]] = pixel[k] * a[k] + b[k].
struct ToTensorJob {
  const ImageView* images;
  const Region* regions;
  TensorView dst;
  int plane_of[4];
  float a[4];
  float b[4];
};

// pixel[k] = tensor[plane_of[k]] * a[k] + b[k], then clamped to [lo, hi] when clamp is set.
struct FromTensorJob {
  TensorView src;
  int64_t crop_y;
  int64_t crop_x;
  const ImageView* dsts;
  int plane_of[4];
  float a[4];
  float b[4];
  bool clamp;
  float lo;
  float hi;
};

}  // namespace imgen::convert_detail

#define IMGEN_DECLARE_CONVERT_KERNELS(ns)                                                 \
  namespace imgen::ns {                                                                   \
  void to_tensor_rows(const convert_detail::ToTensorJob& job, int64_t begin, int64_t end); \
  void from_tensor_rows(const convert_detail::FromTensorJob& job, int64_t begin,          \
                        int64_t end);                                                     \
  }

IMGEN_DECLARE_CONVERT_KERNELS(baseline)
IMGEN_DECLARE_CONVERT_KERNELS(avx2)
