// 8-bit YUV 4:2:0 (planar yuv420p or semi-planar nv12) <-> interleaved RGB24, for video frames.
//
// The matrix is given by its luma weights (kr, kb): BT.601 0.299/0.114, BT.709 0.2126/0.0722,
// BT.2020 0.2627/0.0593.  Limited range: Y in 16..235, Cb/Cr in 16..240; full range: 0..255.
// The chroma filters are libswscale's (FFmpeg 7) so that results match it within one level:
//   rgb -> yuv: chroma of each 2-wide column pair, rows weighted 1/8, 3/8, 3/8, 1/8 over
//               rows 2j-1 .. 2j+2 (edges repeated) -- swscale's default BILINEAR downscale;
//   yuv -> rgb: bilinear chroma upsampling -- swscale with ACCURATE_RND | FULL_CHR_H_INT: vertically
//               from centred sites (3/4 nearer, 1/4 farther); horizontally the same, or from
//               co-sited (left) samples with `cosited` (H.264/MPEG-2 streams: FFmpeg's decoders
//               tag their frames so and swscale follows the tag).
// Odd widths/heights: the chroma planes are ceil(w / 2) x ceil(h / 2); edge pixels are repeated.
#pragma once

#include <cstdint>

#include "common/thread_pool.hpp"

namespace imgen {

struct YuvMatrix {
  double kr = 0.299;
  double kb = 0.114;
  bool full_range = false;
};

// The three planes of a 4:2:0 frame.  nv12: u points at the interleaved UV plane and v == u + 1,
// with chroma_step 2; yuv420p: separate planes, chroma_step 1.  Strides are in bytes.
struct Yuv420View {
  uint8_t* y = nullptr;
  int64_t y_stride = 0;
  uint8_t* u = nullptr;
  uint8_t* v = nullptr;
  int64_t c_stride = 0;
  int64_t chroma_step = 1;
  int64_t height = 0;
  int64_t width = 0;
};

// rgb: height x width x 3 uint8, rows `rgb_stride` bytes apart.  `pool` may be null.
void rgb_to_yuv420(const uint8_t* rgb, int64_t rgb_stride, const Yuv420View& dst, const YuvMatrix& m,
                   ThreadPool* pool);
void yuv420_to_rgb(const Yuv420View& src, uint8_t* rgb, int64_t rgb_stride, const YuvMatrix& m, bool cosited,
                   ThreadPool* pool);

// Which SIMD level the YUV kernels run with on this CPU: "avx2" or "baseline".
const char* yuv_simd_level();

}  // namespace imgen
