// Wavelet filter banks (PyWavelets' coefficients) for the one filter-bank engine in dwt.hpp.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace imgen::wavelet {

// A two-channel filter bank as PyWavelets defines it: every supported wavelet is only a row of
// this table, never its own transform code.  All four filters have `length` taps (even).
struct Wavelet {
  std::string_view name;
  bool orthogonal = false;
  int length = 0;
  std::span<const double> dec_lo, dec_hi, rec_lo, rec_hi;
};

// The wavelet called `name` ("haar", "db1".."db10", "sym2".."sym10", "coif1".."coif5",
// "bior1.1".."bior6.8", "rbio1.1".."rbio6.8"), or nullptr when it is not supported.
const Wavelet* find_wavelet(std::string_view name);

// Every supported wavelet, in table order.
std::span<const Wavelet> supported_wavelets();

// "haar, db1, ..., rbio6.8": for error messages.
std::string supported_wavelet_names();

}  // namespace imgen::wavelet
