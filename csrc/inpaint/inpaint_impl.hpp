// Internals of the PatchMatch inpainting (patchmatch.hpp): one pyramid level, its masks and the
// helpers the search and the vote share.  Not part of the kernels' interface.
#pragma once

#include <cstdint>
#include <vector>

#include "common/thread_pool.hpp"

namespace imgen::inpaint::detail {

// One level of the pyramid: an interleaved float image (0-1 units) and its masks.
struct Level {
  int64_t h = 0, w = 0, c = 0;
  std::vector<float> img;       // h * w * c
  std::vector<uint8_t> hole;    // 1 = missing (filled by the vote)
  std::vector<uint8_t> source;  // 1 = a valid source centre: the whole patch inside and known
  std::vector<uint8_t> target;  // 1 = a patch centre whose patch touches the hole
  int64_t sources = 0;
  int64_t targets = 0;

  int64_t index(int64_t y, int64_t x) const { return y * w + x; }
};

// Sets level.source / .target / .sources / .targets from level.hole for patches of radius r.
void mark_patches(Level& level, int r, ThreadPool* pool);

// The next coarser level (ceil(h/2) x ceil(w/2)): each pixel the mean of its known children,
// missing when any child is.  Source and target marks are not set.
Level downsample(const Level& fine, ThreadPool* pool);

// Fills level.hole's pixels from the known ones, layer by layer from the hole's border inwards
// (each pixel the mean of its already-filled 8-neighbours).  Needs at least one known pixel.
void onion_fill(Level& level);

// splitmix64: a 64-bit hash, used to derive each pixel's random numbers from its coordinates.
inline uint64_t mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A small generator: a state from a hash of the inputs, advanced by splitmix64.
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t key) : state(mix(key)) {}
  uint64_t next() { return state = mix(state); }
  // Uniform integer in [lo, hi] (hi >= lo; the range is far below 2^32, so the modulo bias is nil).
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
};

}  // namespace imgen::inpaint::detail
