// Run-time CPU feature checks for choosing between baseline and AVX2 kernels.
#pragma once

#include <cstdlib>

namespace imgen {

// True when the CPU (and OS) support AVX2, FMA and F16C: the set *_avx2.cpp files are built with.
// Setting IMGEN_DISABLE_AVX2=1 in the environment forces the baseline kernels (for tests and
// for comparing the two paths).
inline bool cpu_has_avx2() {
  if (const char* off = std::getenv("IMGEN_DISABLE_AVX2"); off && *off && *off != '0') return false;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

}  // namespace imgen
