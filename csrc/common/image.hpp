// Non-owning views of pixel buffers shared by all kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace imgen {

using float16_t = _Float16;

enum class DType { u8, u16, f16, f32 };

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::u8: return "uint8";
    case DType::u16: return "uint16";
    case DType::f16: return "float16";
    case DType::f32: return "float32";
  }
  return "?";
}

// The value of full white: 255 for uint8, 65535 for uint16, 1 for floats.  Noise levels are
// given as a fraction of it (sigma 25 on the 0-255 scale is 25 / 255 for every dtype).
inline double white_level(DType t) {
  switch (t) {
    case DType::u8: return 255.0;
    case DType::u16: return 65535.0;
    default: return 1.0;
  }
}

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::u8: return 1;
    case DType::u16: return 2;
    case DType::f16: return 2;
    case DType::f32: return 4;
  }
  return 0;
}

// An interleaved image: `height` rows of `width` pixels of `channels` samples.  Pixels within a
// row are contiguous; rows are `row_stride` elements apart (>= width * channels).
struct ImageView {
  void* data = nullptr;
  DType dtype = DType::u8;
  int64_t height = 0;
  int64_t width = 0;
  int64_t channels = 0;
  int64_t row_stride = 0;

  template <class T>
  T* row(int64_t y) const {
    return static_cast<T*>(data) + y * row_stride;
  }
};

// A planar float tensor (N, C, H, W), C-contiguous.
struct TensorView {
  void* data = nullptr;
  DType dtype = DType::f32;  // f32 or f16
  int64_t batch = 0;
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;

  template <class T>
  T* plane(int64_t n, int64_t c) const {
    return static_cast<T*>(data) + ((n * channels + c) * height) * width;
  }
};

}  // namespace imgen
