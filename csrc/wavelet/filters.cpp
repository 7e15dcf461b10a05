#include "wavelet/filters.hpp"

#include <array>
#include <cstddef>

namespace imgen::wavelet {
namespace {

struct WaveletEntry {
  const char* name;
  bool orthogonal;
  int length;
  const double* taps;  // dec_lo, dec_hi, rec_lo, rec_hi: 4 * length values
};

#include "wavelet/filters_table.inc"

constexpr size_t k_count = sizeof(k_wavelet_table) / sizeof(k_wavelet_table[0]);

constexpr std::array<Wavelet, k_count> make_wavelets() {
  std::array<Wavelet, k_count> out{};
  for (size_t i = 0; i < k_count; ++i) {
    const WaveletEntry& e = k_wavelet_table[i];
    const auto n = static_cast<size_t>(e.length);
    out[i].name = e.name;
    out[i].orthogonal = e.orthogonal;
    out[i].length = e.length;
    out[i].dec_lo = std::span<const double>(e.taps, n);
    out[i].dec_hi = std::span<const double>(e.taps + n, n);
    out[i].rec_lo = std::span<const double>(e.taps + 2 * n, n);
    out[i].rec_hi = std::span<const double>(e.taps + 3 * n, n);
  }
  return out;
}

constexpr std::array<Wavelet, k_count> k_wavelets = make_wavelets();

}  // namespace

const Wavelet* find_wavelet(std::string_view name) {
  for (const Wavelet& w : k_wavelets)
    if (w.name == name) return &w;
  return nullptr;
}

std::span<const Wavelet> supported_wavelets() { return k_wavelets; }

std::string supported_wavelet_names() {
  std::string s;
  for (const Wavelet& w : k_wavelets) {
    if (!s.empty()) s += ", ";
    s += w.name;
  }
  return s;
}

}  // namespace imgen::wavelet
