#include "bm3d/transforms.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace imgen::bm3d {

namespace {

// Periodic bior1.5 on 8 points, 3 levels (approximation, then details coarse to fine), rows
// scaled to unit norm: row k = pywt.wavedec(e_j, 'bior1.5', 'periodization') coefficient k over
// j, normalised -- the same matrix as the reference BM3D (tests/test_bm3d.py rebuilds it).
constexpr double kBior15[8][8] = {
    {0.3535533905932738, 0.3535533905932738, 0.3535533905932738, 0.3535533905932738,
     0.3535533905932738, 0.3535533905932738, 0.3535533905932738, 0.3535533905932738},
    {0.2194176492525008, 0.44928375799321585, 0.44928375799321585, 0.2194176492525008,
     -0.2194176492525008, -0.44928375799321585, -0.44928375799321585, -0.2194176492525008},
    {0.5693593983428461, 0.402347308162278, -0.402347308162278, -0.5693593983428461,
     -0.08350604509028409, 0.08350604509028409, -0.08350604509028409, 0.08350604509028409},
    {-0.08350604509028409, 0.08350604509028409, -0.08350604509028409, 0.08350604509028409,
     0.5693593983428461, 0.402347308162278, -0.402347308162278, -0.5693593983428461},
    {0.7071067811865476, -0.7071067811865476, 0, 0, 0, 0, 0, 0},
    {0, 0, 0.7071067811865476, -0.7071067811865476, 0, 0, 0, 0},
    {0, 0, 0, 0, 0.7071067811865476, -0.7071067811865476, 0, 0},
    {0, 0, 0, 0, 0, 0, 0.7071067811865476, -0.7071067811865476},
};

// Inverse of an n x n matrix by Gauss-Jordan elimination with partial pivoting (double).
std::vector<double> invert(std::vector<double> a, int n) {
  const size_t un = static_cast<size_t>(n);
  std::vector<double> inv(un * un, 0.0);
  for (size_t i = 0; i < un; ++i) inv[i * un + i] = 1.0;
  for (size_t col = 0; col < un; ++col) {
    size_t piv = col;
    for (size_t r = col + 1; r < un; ++r)
      if (std::fabs(a[r * un + col]) > std::fabs(a[piv * un + col])) piv = r;
    if (std::fabs(a[piv * un + col]) < 1e-12) throw std::runtime_error("singular transform matrix");
    for (size_t k = 0; k < un; ++k) {
      std::swap(a[col * un + k], a[piv * un + k]);
      std::swap(inv[col * un + k], inv[piv * un + k]);
    }
    const double p = a[col * un + col];
    for (size_t k = 0; k < un; ++k) {
      a[col * un + k] /= p;
      inv[col * un + k] /= p;
    }
    for (size_t r = 0; r < un; ++r) {
      if (r == col) continue;
      const double f = a[r * un + col];
      if (f == 0.0) continue;
      for (size_t k = 0; k < un; ++k) {
        a[r * un + k] -= f * a[col * un + k];
        inv[r * un + k] -= f * inv[col * un + k];
      }
    }
  }
  return inv;
}

// Modified Bessel function of the first kind, order 0 (power series; converges for all x).
double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200 && term > 1e-17 * sum; ++k) {
    term *= q / (static_cast<double>(k) * static_cast<double>(k));
    sum += term;
  }
  return sum;
}

}  // namespace

const char* transform_name(Transform2D t) {
  switch (t) {
    case Transform2D::bior15: return "bior1.5";
    case Transform2D::dct: return "dct";
  }
  return "?";
}

TransformMatrix make_transform(Transform2D t, int n) {
  if (n < 1) throw std::invalid_argument("transform size must be positive");
  const size_t un = static_cast<size_t>(n);
  std::vector<double> f(un * un);
  if (t == Transform2D::bior15) {
    if (n != 8)
      throw std::invalid_argument("the bior1.5 transform needs a block size of 8, got " +
                                  std::to_string(n) + " (use the 'dct' transform)");
    for (size_t i = 0; i < 8; ++i)
      for (size_t j = 0; j < 8; ++j) f[i * 8 + j] = kBior15[i][j];
  } else {
    const double pi = 3.14159265358979323846;
    for (size_t k = 0; k < un; ++k) {
      const double c = std::sqrt((k == 0 ? 1.0 : 2.0) / n);
      for (size_t j = 0; j < un; ++j)
        f[k * un + j] = c * std::cos(pi * (2.0 * static_cast<double>(j) + 1.0) *
                                     static_cast<double>(k) / (2.0 * n));
    }
  }
  const std::vector<double> inv = invert(f, n);
  TransformMatrix m;
  m.n = n;
  m.forward.resize(un * un);
  m.inverse.resize(un * un);
  for (size_t i = 0; i < un * un; ++i) {
    m.forward[i] = static_cast<float>(f[i]);
    m.inverse[i] = static_cast<float>(inv[i]);
  }
  return m;
}

std::vector<float> kaiser_window_2d(int n, double beta) {
  const size_t un = static_cast<size_t>(n);
  std::vector<double> w(un, 1.0);
  const double i0b = bessel_i0(beta);
  for (size_t i = 0; i < un && n > 1; ++i) {
    const double r = 2.0 * static_cast<double>(i) / (n - 1) - 1.0;
    w[i] = bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0b;
  }
  std::vector<float> out(un * un);
  for (size_t i = 0; i < un; ++i)
    for (size_t j = 0; j < un; ++j) out[i * un + j] = static_cast<float>(w[i] * w[j]);
  return out;
}

}  // namespace imgen::bm3d
