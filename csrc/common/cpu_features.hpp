// Run-time CPU feature checks for choosing between baseline and AVX2 kernels.
#pragma once

namespace imgen {

// True when the CPU (and OS) support AVX2, FMA and F16C: the set *_avx2.cpp files are built with.
inline bool cpu_has_avx2() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}

}  // namespace imgen
