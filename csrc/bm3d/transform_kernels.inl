// Part of stage_kernels.inl: the 2-D block transforms and the Haar transform along a group.
// Loops are shaped for the auto-vectoriser: the innermost loop runs over a block row.

// a * b + c, fused where the SIMD level has FMA (the build does not contract a * b + c itself).
inline float mul_add(float a, float b, float c) {
#if IMGEN_BM3D_FMA
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}

// Eight floats in a vector register (GCC/Clang vector extensions: one ymm register at the AVX2
// level, two xmm registers at the baseline level).  vec8u is the unaligned-access variant.
typedef float vec8 __attribute__((vector_size(32)));
typedef float vec8u __attribute__((vector_size(32), aligned(4)));
typedef int ivec8 __attribute__((vector_size(32)));

// Unaligned loads and stores through the intrinsics at the AVX2 level: GCC's generic tuning
// splits plain unaligned 32-byte accesses into 16-byte halves, which then stall store forwarding.
inline vec8 load8(const float* p) {
#if defined(__AVX2__)
  return _mm256_loadu_ps(p);
#else
  return *reinterpret_cast<const vec8u*>(p);
#endif
}
inline void store8(float* p, vec8 v) {
#if defined(__AVX2__)
  _mm256_storeu_ps(p, v);
#else
  *reinterpret_cast<vec8u*>(p) = v;
#endif
}
// (Not vec8{} + s: 0 + s is not s for s = -0, so that costs an addition per broadcast.)
inline vec8 splat8(float s) { return vec8{s, s, s, s, s, s, s, s}; }
inline vec8 mul_add8(vec8 a, vec8 b, vec8 c) {
#if IMGEN_BM3D_FMA
  return __builtin_ia32_vfmaddps256(a, b, c);
#else
  return a * b + c;
#endif
}

// dst = M * X * M^T for one N x N block X (rows `stride` floats apart), written row-major to dst
// (rows N apart).  Computed as Z = X * M^T (broadcast X[i][j], row j of M^T), then M * Z.
// `m` is M (N x N, row-major) and `m_t` its transpose.
template <int N>
inline void transform_2d(const float* __restrict src, int64_t stride, const float* __restrict m,
                         const float* __restrict m_t, float* __restrict dst) {
  if constexpr (N == 8) {
    // One block row per vector: Z[i] = sum_j X[i][j] * M^T[j], then dst[i] = sum_j M[i][j] * Z[j].
    // Named vectors rather than arrays of them: GCC kept such arrays on the stack.
    const vec8 t0 = load8(m_t), t1 = load8(m_t + 8), t2 = load8(m_t + 16), t3 = load8(m_t + 24);
    const vec8 t4 = load8(m_t + 32), t5 = load8(m_t + 40), t6 = load8(m_t + 48), t7 = load8(m_t + 56);
    const auto row_times_mt = [&](const float* __restrict x) __attribute__((always_inline)) {
      // Two chains of four FMAs instead of one of eight.
      vec8 a = splat8(x[0]) * t0, b = splat8(x[1]) * t1;
      a = mul_add8(splat8(x[2]), t2, a);
      b = mul_add8(splat8(x[3]), t3, b);
      a = mul_add8(splat8(x[4]), t4, a);
      b = mul_add8(splat8(x[5]), t5, b);
      a = mul_add8(splat8(x[6]), t6, a);
      b = mul_add8(splat8(x[7]), t7, b);
      return a + b;
    };
    const vec8 z0 = row_times_mt(src), z1 = row_times_mt(src + stride);
    const vec8 z2 = row_times_mt(src + 2 * stride), z3 = row_times_mt(src + 3 * stride);
    const vec8 z4 = row_times_mt(src + 4 * stride), z5 = row_times_mt(src + 5 * stride);
    const vec8 z6 = row_times_mt(src + 6 * stride), z7 = row_times_mt(src + 7 * stride);
    for (int i = 0; i < 8; ++i) {
      const float* __restrict mi = m + 8 * i;
      vec8 a = splat8(mi[0]) * z0, b = splat8(mi[1]) * z1;
      a = mul_add8(splat8(mi[2]), z2, a);
      b = mul_add8(splat8(mi[3]), z3, b);
      a = mul_add8(splat8(mi[4]), z4, a);
      b = mul_add8(splat8(mi[5]), z5, b);
      a = mul_add8(splat8(mi[6]), z6, a);
      b = mul_add8(splat8(mi[7]), z7, b);
      store8(dst + 8 * i, a + b);
    }
    return;
  }
  float z[N * N];
  for (int i = 0; i < N; ++i) {
    float acc[N] = {};
    const float* __restrict x = src + i * stride;
    for (int j = 0; j < N; ++j) {
      const float s = x[j];
      const float* __restrict row = m_t + j * N;
      for (int k = 0; k < N; ++k) acc[k] = mul_add(s, row[k], acc[k]);
    }
    for (int k = 0; k < N; ++k) z[i * N + k] = acc[k];
  }
  for (int i = 0; i < N; ++i) {
    float acc[N] = {};
    for (int j = 0; j < N; ++j) {
      const float s = m[i * N + j];
      const float* __restrict row = z + j * N;
      for (int k = 0; k < N; ++k) acc[k] = mul_add(s, row[k], acc[k]);
    }
    for (int k = 0; k < N; ++k) dst[i * N + k] = acc[k];
  }
}

constexpr float kInvSqrt2 = 0.70710678118654752440f;

// Orthonormal Haar along a group of `count` (a power of two) vectors of `len` floats, full
// decomposition, in place: butterflies (a + b, a - b) / sqrt(2) between vectors s apart, for
// s = 1, 2, 4, ...  Vector 0 ends up as the group's sum / sqrt(count); the details sit where their
// butterflies left them (an order the inverse undoes; thresholding and shrinkage do not care).
inline void haar_butterflies(float* __restrict data, int count, int len, int s) {
  for (int i = 0; i < count; i += 2 * s) {
    float* __restrict a = data + i * len;
    float* __restrict b = data + (i + s) * len;
    int k = 0;
    for (; k + 8 <= len; k += 8) {
      const vec8 x = load8(a + k), y = load8(b + k);
      store8(a + k, (x + y) * kInvSqrt2);
      store8(b + k, (x - y) * kInvSqrt2);
    }
    for (; k < len; ++k) {
      const float x = a[k], y = b[k];
      a[k] = (x + y) * kInvSqrt2;
      b[k] = (x - y) * kInvSqrt2;
    }
  }
}

inline void haar_forward(float* data, int count, int len) {
  for (int s = 1; s < count; s *= 2) haar_butterflies(data, count, len, s);
}

inline void haar_inverse(float* data, int count, int len) {
  for (int s = count / 2; s >= 1; s /= 2) haar_butterflies(data, count, len, s);
}

// Adds weight * window * block to num and weight * window to den at plane offset `at`.
template <int N>
inline void aggregate_block(const float* __restrict block, const float* __restrict wwin,
                            float* __restrict num, float* __restrict den, int64_t at,
                            int64_t width) {
  if constexpr (N == 8) {
    for (int i = 0; i < 8; ++i) {
      float* nr = num + at + i * width;
      float* dr = den + at + i * width;
      const vec8 w = load8(wwin + 8 * i);
      store8(nr, mul_add8(w, load8(block + 8 * i), load8(nr)));
      store8(dr, load8(dr) + w);
    }
    return;
  }
  for (int i = 0; i < N; ++i) {
    float* __restrict nr = num + at + i * width;
    float* __restrict dr = den + at + i * width;
    const float* __restrict b = block + i * N;
    const float* __restrict w = wwin + i * N;
    for (int j = 0; j < N; ++j) {
      nr[j] = mul_add(w[j], b[j], nr[j]);
      dr[j] += w[j];
    }
  }
}
