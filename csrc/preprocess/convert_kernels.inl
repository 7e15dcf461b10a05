// Row kernels for convert.cpp.  This file is included by convert.cpp (baseline x86-64) and by
// convert_avx2.cpp (compiled with -mavx2 -mfma -mf16c) with IMGEN_SIMD_NS naming the namespace,
// so each SIMD level gets its own copy with no shared inline symbols.  The loops are written for
// the auto-vectoriser: fixed channel counts, restrict pointers, no branches in the inner loop.
//
// Only plain C++ here: no std templates whose out-of-line copies could leak between SIMD levels.

#ifndef IMGEN_SIMD_NS
#error "define IMGEN_SIMD_NS before including convert_kernels.inl"
#endif

namespace imgen::IMGEN_SIMD_NS {
namespace {

using convert_detail::FromTensorJob;
using convert_detail::ToTensorJob;

template <class Tout>
inline Tout cast_out(float v) {
  return static_cast<Tout>(v);
}

// Interleaved pixels -> C planes: o_k[i] = s[i*C + k] * a[k] + b[k].
template <int C, class Tin, class Tout>
void pack_pixels(const Tin* __restrict s, int64_t n, Tout* const* planes, const float* a,
                 const float* b) {
  if constexpr (C == 1) {
    Tout* __restrict o0 = planes[0];
    const float a0 = a[0], b0 = b[0];
    for (int64_t i = 0; i < n; ++i) o0[i] = cast_out<Tout>(static_cast<float>(s[i]) * a0 + b0);
  } else if constexpr (C == 3) {
    Tout* __restrict o0 = planes[0];
    Tout* __restrict o1 = planes[1];
    Tout* __restrict o2 = planes[2];
    const float a0 = a[0], a1 = a[1], a2 = a[2], b0 = b[0], b1 = b[1], b2 = b[2];
    for (int64_t i = 0; i < n; ++i) {
      o0[i] = cast_out<Tout>(static_cast<float>(s[3 * i + 0]) * a0 + b0);
      o1[i] = cast_out<Tout>(static_cast<float>(s[3 * i + 1]) * a1 + b1);
      o2[i] = cast_out<Tout>(static_cast<float>(s[3 * i + 2]) * a2 + b2);
    }
  } else {
    Tout* __restrict o0 = planes[0];
    Tout* __restrict o1 = planes[1];
    Tout* __restrict o2 = planes[2];
    Tout* __restrict o3 = planes[3];
    const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    const float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
    for (int64_t i = 0; i < n; ++i) {
      o0[i] = cast_out<Tout>(static_cast<float>(s[4 * i + 0]) * a0 + b0);
      o1[i] = cast_out<Tout>(static_cast<float>(s[4 * i + 1]) * a1 + b1);
      o2[i] = cast_out<Tout>(static_cast<float>(s[4 * i + 2]) * a2 + b2);
      o3[i] = cast_out<Tout>(static_cast<float>(s[4 * i + 3]) * a3 + b3);
    }
  }
}

// Local copies of the view helpers, so that no inline function with external linkage is
// compiled under this file's SIMD flags.
inline int64_t reflect(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

template <class T>
inline T* image_row(const ImageView& v, int64_t y) {
  return static_cast<T*>(v.data) + y * v.row_stride;
}

template <class T>
inline T* tensor_plane(const TensorView& t, int64_t n, int64_t c) {
  return static_cast<T*>(t.data) + ((n * t.channels + c) * t.height) * t.width;
}

template <int C, class Tin, class Tout>
void to_tensor_rows_t(const ToTensorJob& job, int64_t begin, int64_t end) {
  const TensorView& dst = job.dst;
  const int64_t h = dst.height, w = dst.width;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / h, y = r % h;
    const ImageView& img = job.images[n];
    const Region& reg = job.regions[n];
    const Tin* src = image_row<const Tin>(img, reflect(reg.y + y, img.height));
    Tout* planes[4];
    for (int k = 0; k < C; ++k) planes[k] = tensor_plane<Tout>(dst, n, job.plane_of[k]) + y * w;
    // Columns [x_lo, x_hi) of the region lie inside the image; the rest is reflected.
    const int64_t x_lo = reg.x < 0 ? -reg.x : 0;
    int64_t x_hi = img.width - reg.x;
    if (x_hi > w) x_hi = w;
    if (x_hi < x_lo) x_hi = x_lo;
    for (int64_t i = 0; i < w; ++i) {
      if (i == x_lo && x_hi > x_lo) {
        Tout* inner[4];
        for (int k = 0; k < C; ++k) inner[k] = planes[k] + x_lo;
        pack_pixels<C>(src + (reg.x + x_lo) * C, x_hi - x_lo, inner, job.a, job.b);
        i = x_hi - 1;
        continue;
      }
      const Tin* p = src + reflect(reg.x + i, img.width) * C;
      for (int k = 0; k < C; ++k)
        planes[k][i] = cast_out<Tout>(static_cast<float>(p[k]) * job.a[k] + job.b[k]);
    }
  }
}

// Planes -> interleaved pixels with conversion to the output type.
template <class Tout>
inline Tout to_pixel(float v, float lo, float hi, bool clamp) {
  if constexpr (sizeof(Tout) <= 2 && static_cast<Tout>(-1) > 0) {
    // Integer output: clamp (NaN -> lo), then round half to even with the 2^23 trick, which
    // is exact for 0 <= v < 2^23 and vectorises, unlike lrintf.
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    v = (v + 8388608.0f) - 8388608.0f;
    return static_cast<Tout>(static_cast<int32_t>(v));
  } else {
    if (clamp) {
      v = v > lo ? v : lo;
      v = v < hi ? v : hi;
    }
    return static_cast<Tout>(v);
  }
}

template <int C, class Tin, class Tout>
void unpack_pixels(Tout* __restrict d, int64_t n, const Tin* const* planes, const float* a,
                   const float* b, float lo, float hi, bool clamp) {
  if constexpr (C == 1) {
    const Tin* __restrict i0 = planes[0];
    for (int64_t i = 0; i < n; ++i)
      d[i] = to_pixel<Tout>(static_cast<float>(i0[i]) * a[0] + b[0], lo, hi, clamp);
  } else if constexpr (C == 3) {
    const Tin* __restrict i0 = planes[0];
    const Tin* __restrict i1 = planes[1];
    const Tin* __restrict i2 = planes[2];
    const float a0 = a[0], a1 = a[1], a2 = a[2], b0 = b[0], b1 = b[1], b2 = b[2];
    for (int64_t i = 0; i < n; ++i) {
      d[3 * i + 0] = to_pixel<Tout>(static_cast<float>(i0[i]) * a0 + b0, lo, hi, clamp);
      d[3 * i + 1] = to_pixel<Tout>(static_cast<float>(i1[i]) * a1 + b1, lo, hi, clamp);
      d[3 * i + 2] = to_pixel<Tout>(static_cast<float>(i2[i]) * a2 + b2, lo, hi, clamp);
    }
  } else {
    const Tin* __restrict i0 = planes[0];
    const Tin* __restrict i1 = planes[1];
    const Tin* __restrict i2 = planes[2];
    const Tin* __restrict i3 = planes[3];
    const float a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    const float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
    for (int64_t i = 0; i < n; ++i) {
      d[4 * i + 0] = to_pixel<Tout>(static_cast<float>(i0[i]) * a0 + b0, lo, hi, clamp);
      d[4 * i + 1] = to_pixel<Tout>(static_cast<float>(i1[i]) * a1 + b1, lo, hi, clamp);
      d[4 * i + 2] = to_pixel<Tout>(static_cast<float>(i2[i]) * a2 + b2, lo, hi, clamp);
      d[4 * i + 3] = to_pixel<Tout>(static_cast<float>(i3[i]) * a3 + b3, lo, hi, clamp);
    }
  }
}

template <int C, class Tin, class Tout>
void from_tensor_rows_t(const FromTensorJob& job, int64_t begin, int64_t end) {
  const int64_t h = job.dsts[0].height;
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / h, y = r % h;
    const ImageView& img = job.dsts[n];
    const Tin* planes[4];
    for (int k = 0; k < C; ++k)
      planes[k] = tensor_plane<const Tin>(job.src, n, job.plane_of[k]) +
                  (job.crop_y + y) * job.src.width + job.crop_x;
    unpack_pixels<C>(image_row<Tout>(img, y), img.width, planes, job.a, job.b, job.lo, job.hi,
                     job.clamp);
  }
}

template <class Tin, class Tout>
void run_to_tensor(const ToTensorJob& job, int64_t begin, int64_t end) {
  switch (job.dst.channels) {
    case 1: return to_tensor_rows_t<1, Tin, Tout>(job, begin, end);
    case 3: return to_tensor_rows_t<3, Tin, Tout>(job, begin, end);
    default: return to_tensor_rows_t<4, Tin, Tout>(job, begin, end);
  }
}

template <class Tin, class Tout>
void run_from_tensor(const FromTensorJob& job, int64_t begin, int64_t end) {
  switch (job.src.channels) {
    case 1: return from_tensor_rows_t<1, Tin, Tout>(job, begin, end);
    case 3: return from_tensor_rows_t<3, Tin, Tout>(job, begin, end);
    default: return from_tensor_rows_t<4, Tin, Tout>(job, begin, end);
  }
}

}  // namespace

void to_tensor_rows(const ToTensorJob& job, int64_t begin, int64_t end) {
  const DType in = job.images[0].dtype;
  const bool half = job.dst.dtype == DType::f16;
  if (in == DType::u8) {
    half ? run_to_tensor<uint8_t, float16_t>(job, begin, end)
         : run_to_tensor<uint8_t, float>(job, begin, end);
  } else if (in == DType::u16) {
    half ? run_to_tensor<uint16_t, float16_t>(job, begin, end)
         : run_to_tensor<uint16_t, float>(job, begin, end);
  } else {
    half ? run_to_tensor<float, float16_t>(job, begin, end)
         : run_to_tensor<float, float>(job, begin, end);
  }
}

void from_tensor_rows(const FromTensorJob& job, int64_t begin, int64_t end) {
  const DType out = job.dsts[0].dtype;
  const bool half = job.src.dtype == DType::f16;
  if (out == DType::u8) {
    half ? run_from_tensor<float16_t, uint8_t>(job, begin, end)
         : run_from_tensor<float, uint8_t>(job, begin, end);
  } else if (out == DType::u16) {
    half ? run_from_tensor<float16_t, uint16_t>(job, begin, end)
         : run_from_tensor<float, uint16_t>(job, begin, end);
  } else {
    half ? run_from_tensor<float16_t, float>(job, begin, end)
         : run_from_tensor<float, float>(job, begin, end);
  }
}

}  // namespace imgen::IMGEN_SIMD_NS
