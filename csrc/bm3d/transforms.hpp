// The transforms BM3D filters groups with: a separable 2-D transform of each N x N block (bior1.5 or
// DCT), a 1-D Haar transform along the group, and the Kaiser window blocks are aggregated with.
#pragma once

#include <cstdint>
#include <vector>

namespace imgen::bm3d {

enum class Transform2D { bior15, dct };

// Short name for messages: "bior1.5" or "dct".
const char* transform_name(Transform2D t);

// A 1-D N-point transform as two N x N row-major matrices: coefficients = forward * x and
// x = inverse * coefficients.  Every forward row has unit l2 norm, so white noise of variance
// sigma^2 gives every coefficient (of the separable 2-D transform too) variance sigma^2.
//   dct:     the orthonormal DCT-II (inverse = transpose), any n >= 1.
//   bior1.5: the periodic 3-level biorthogonal 1.5 wavelet of the reference BM3D; n = 8 only.
struct TransformMatrix {
  int n = 0;
  std::vector<float> forward;
  std::vector<float> inverse;
};

// Throws std::invalid_argument for a size the transform does not support.
TransformMatrix make_transform(Transform2D t, int n);

// The separable 2-D Kaiser window w[i] * w[j] (row-major n x n), w = kaiser(n, beta).
std::vector<float> kaiser_window_2d(int n, double beta);

}  // namespace imgen::bm3d
