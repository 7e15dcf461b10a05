// Part of stage_kernels.inl: block matching for one row of reference blocks of a tile.
//
// For every candidate row of the search window and every horizontal offset dx, the column sums
// of squared differences between the N reference rows and the N candidate rows (shifted by dx) are
// computed once over the pixel span of the row's reference blocks; each reference block's
// distance is then a sum of N consecutive column sums.  This shares the per-pixel work between
// the overlapping reference blocks of the row (step < N).  The AVX2 level puts eight offsets in a
// vector (so only the block sums at reference positions are formed, one compare per reference);
// the baseline level puts eight pixels in a vector and compares every block sum with a per-pixel
// limit (-1 away from reference positions).  Either way only candidates that improve a list leave
// the vector loop, and the matches of each reference end sorted by distance, itself first.

// Keeps the K smallest distances of reference k sorted ascending (the reference itself, distance
// 0, stays first: ties go after existing entries).
inline void insert_match(float d, int64_t at, int k, int K, const detail::Scratch& s,
                         float tau_ssd, int64_t limit_at) {
  float* __restrict dist = s.dist + k * K;
  int64_t* __restrict pos = s.pos + k * K;
  const int c = s.count[k];
  int p = c < K ? c : K - 1;
  while (p > 0 && dist[p - 1] > d) {
    dist[p] = dist[p - 1];
    pos[p] = pos[p - 1];
    --p;
  }
  dist[p] = d;
  pos[p] = at;
  if (c < K) s.count[k] = c + 1;
  s.limit[limit_at] = s.count[k] == K ? dist[K - 1] : tau_ssd;
}

// diff[x] = sum over the N rows i of (a[i * W + x] - b[i * W + x])^2 for x in [0, span), computed
// in whole vectors of 8 (reading up to 7 floats past the span: planes are padded).
template <int N>
inline void column_ssd(const float* __restrict a, const float* __restrict b, int64_t W,
                       int64_t span, float* __restrict diff) {
#if defined(__AVX2__)
  // Two accumulators (even and odd rows) halve the chain of dependent FMAs.
  for (int64_t x = 0; x < span; x += 8) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 1 < N; i += 2) {
      const __m256 e0 = _mm256_sub_ps(_mm256_loadu_ps(a + i * W + x), _mm256_loadu_ps(b + i * W + x));
      const __m256 e1 =
          _mm256_sub_ps(_mm256_loadu_ps(a + (i + 1) * W + x), _mm256_loadu_ps(b + (i + 1) * W + x));
      acc0 = _mm256_fmadd_ps(e0, e0, acc0);
      acc1 = _mm256_fmadd_ps(e1, e1, acc1);
    }
    if (i < N) {
      const __m256 e = _mm256_sub_ps(_mm256_loadu_ps(a + i * W + x), _mm256_loadu_ps(b + i * W + x));
      acc0 = _mm256_fmadd_ps(e, e, acc0);
    }
    _mm256_storeu_ps(diff + x, _mm256_add_ps(acc0, acc1));
  }
#else
  for (int64_t x = 0; x < span; x += 8) {
    float acc[8] = {};
    for (int i = 0; i < N; ++i)
      for (int l = 0; l < 8; ++l) {
        const float e = a[i * W + x + l] - b[i * W + x + l];
        acc[l] += e * e;
      }
    for (int l = 0; l < 8; ++l) diff[x + l] = acc[l];
  }
#endif
}

#if defined(__AVX2__)
// AVX2: the vector lanes are eight horizontal offsets dx0 .. dx0 + 7.  For a candidate row and a
// group of offsets, col[x] holds the column sums of squared differences at pixel x of the tile's
// span for the eight offsets (the reference pixel broadcast against eight shifted candidate
// pixels); a reference block's distances to its eight candidates are then the sum of N
// consecutive col vectors, compared in one go with that reference's limit.  Relative to vectors
// along x, this computes the same column sums but only the block sums that are needed.
template <int N>
void match_row(const detail::StageJob& job, int64_t r, const int64_t* cols, int ncols,
               const detail::Scratch& s) {
  const int64_t W = job.width, H = job.height;
  const int K = job.max_blocks;
  const int64_t h = job.half_window;
  const float* __restrict img = job.match;
  for (int k = 0; k < ncols; ++k) {
    s.dist[k * K] = 0.0f;
    s.pos[k * K] = r * W + cols[k];
    s.count[k] = 1;
    s.limit[k] = K == 1 ? -1.0f : job.tau_ssd;
  }
  if (K == 1) return;
  const int64_t x0 = cols[0];
  const int64_t span = cols[ncols - 1] + N - x0;
  const float* __restrict ref = img + r * W + x0;
  float* __restrict col = s.diff;
  const int64_t groups = (2 * h + 1 + 7) / 8;
  // (Candidate row, offset group) pairs by their Chebyshev distance from the reference, nearest
  // first: good matches come early, so the lists fill with them and later candidates rarely get
  // in.  A group's distance is that of its offset nearest to 0.
  const auto group_distance = [h](int64_t g) {
    const int64_t lo = -h + 8 * g, hi = lo + 7;
    return lo > 0 ? lo : hi < 0 ? -hi : int64_t{0};
  };
  for (int64_t ring = 0; ring <= h; ++ring) {
    for (int64_t dy = -ring; dy <= ring; ++dy) {
      const int64_t yc = r + dy;
      if (yc < 0 || yc > H - N) continue;
      const float* __restrict cand = img + yc * W + x0;
      const bool edge_row = dy == -ring || dy == ring;
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t gd = group_distance(g);
        // This pair belongs to ring max(|dy|, gd).
        if (edge_row ? gd > ring : gd != ring) continue;
        const int64_t dx0 = -h + 8 * g;
        // Skip the group when no reference has a candidate inside the image.
        if (cols[ncols - 1] + dx0 + 7 < 0 || cols[0] + dx0 > W - N) continue;
        for (int64_t x = 0; x < span; ++x) {
          __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
          int i = 0;
          for (; i + 1 < N; i += 2) {
            const __m256 e0 = _mm256_sub_ps(_mm256_broadcast_ss(ref + i * W + x),
                                            _mm256_loadu_ps(cand + i * W + x + dx0));
            const __m256 e1 = _mm256_sub_ps(_mm256_broadcast_ss(ref + (i + 1) * W + x),
                                            _mm256_loadu_ps(cand + (i + 1) * W + x + dx0));
            acc0 = _mm256_fmadd_ps(e0, e0, acc0);
            acc1 = _mm256_fmadd_ps(e1, e1, acc1);
          }
          if (i < N) {
            const __m256 e = _mm256_sub_ps(_mm256_broadcast_ss(ref + i * W + x),
                                           _mm256_loadu_ps(cand + i * W + x + dx0));
            acc0 = _mm256_fmadd_ps(e, e, acc0);
          }
          _mm256_storeu_ps(col + 8 * x, _mm256_add_ps(acc0, acc1));
        }
        for (int k = 0; k < ncols; ++k) {
          const int64_t c = cols[k];
          // Lanes whose candidate lies inside the image and the search window, not the reference.
          const int64_t lo = (-c > -h ? -c : -h) - dx0;
          const int64_t hi = (W - N - c < h ? W - N - c : h) - dx0;
          if (hi < 0 || lo > 7) continue;
          unsigned valid = (hi >= 7 ? 0xffu : (2u << hi) - 1u) & ~((lo <= 0 ? 1u : 1u << lo) - 1u);
          if (dy == 0 && dx0 <= 0 && dx0 + 7 >= 0) valid &= ~(1u << (-dx0));
          const float* __restrict cb = col + 8 * (c - x0);
          __m256 box = _mm256_loadu_ps(cb);
          for (int j = 1; j < N; ++j) box = _mm256_add_ps(box, _mm256_loadu_ps(cb + 8 * j));
          unsigned mask = valid & static_cast<unsigned>(_mm256_movemask_ps(
                                      _mm256_cmp_ps(box, _mm256_set1_ps(s.limit[k]), _CMP_LT_OQ)));
          if (!mask) continue;
          alignas(32) float d[8];
          _mm256_store_ps(d, box);
          for (; mask != 0; mask &= mask - 1) {
            const int l = __builtin_ctz(mask);
            if (d[l] < s.limit[k])
              insert_match(d[l], yc * W + c + dx0 + l, k, K, s, job.tau_ssd, k);
          }
        }
      }
    }
  }
}
#else
template <int N>
void match_row(const detail::StageJob& job, int64_t r, const int64_t* cols, int ncols,
               const detail::Scratch& s) {
  const int64_t W = job.width, H = job.height;
  const int K = job.max_blocks;
  const int64_t h = job.half_window;
  const float* __restrict img = job.match;
  const int64_t x0 = cols[0];
  const int64_t tile_span = cols[ncols - 1] + N - x0;
  // Per-pixel limits over the tile's span (+ a vector of slack): -1 except at reference columns.
  for (int64_t x = 0; x < tile_span + 16; ++x) s.limit[x] = -1.0f;
  for (int k = 0; k < ncols; ++k) {
    s.dist[k * K] = 0.0f;
    s.pos[k * K] = r * W + cols[k];
    s.count[k] = 1;
    s.limit[cols[k] - x0] = K == 1 ? -1.0f : job.tau_ssd;
    s.ref_at[cols[k] - x0] = k;
  }
  if (K == 1) return;
  const float* __restrict ref = img + r * W;
  // Candidates ring by ring from the reference outwards (Chebyshev distance 1, 2, ...): good
  // matches come early, so the lists fill with them and later candidates rarely get in.
  for (int64_t rho = 1; rho <= h; ++rho) {
    for (int64_t dy = -rho; dy <= rho; ++dy) {
      const int64_t yc = r + dy;
      if (yc < 0 || yc > H - N) continue;
      const float* __restrict cand = img + yc * W;
      const bool edge_row = dy == -rho || dy == rho;
      for (int64_t dx = -rho; dx <= rho; dx += edge_row ? 1 : 2 * rho) {
        // The reference blocks whose candidate lies inside the image: 0 <= col + dx <= W - N.
        int ka = 0, kb = ncols;
        while (ka < kb && cols[ka] + dx < 0) ++ka;
        while (kb > ka && cols[kb - 1] + dx > W - N) --kb;
        if (ka >= kb) continue;
        const int64_t xa = cols[ka];
        const int64_t span = cols[kb - 1] + N - xa;
        column_ssd<N>(ref + xa, cand + xa + dx, W, span, s.diff);
        const int64_t nbox = span - N + 1;
        const float* __restrict diff = s.diff;
        const float* __restrict lim = s.limit + (xa - x0);
        for (int64_t x = 0; x < nbox; x += 8) {
          float box[8];
#if defined(__AVX2__)
          __m256 acc = _mm256_loadu_ps(diff + x);
          for (int j = 1; j < N; ++j) acc = _mm256_add_ps(acc, _mm256_loadu_ps(diff + x + j));
          const __m256 below = _mm256_cmp_ps(acc, _mm256_loadu_ps(lim + x), _CMP_LT_OQ);
          unsigned mask = static_cast<unsigned>(_mm256_movemask_ps(below));
          _mm256_storeu_ps(box, acc);
#else
          unsigned mask = 0;
          for (int l = 0; l < 8; ++l) {
            float acc = diff[x + l];
            for (int j = 1; j < N; ++j) acc += diff[x + l + j];
            box[l] = acc;
            mask |= acc < lim[x + l] ? 1u << l : 0u;
          }
#endif
          // Lanes past the last block position read stale column sums: drop them.
          if (nbox - x < 8) mask &= (1u << (nbox - x)) - 1u;
          for (int l = 0; mask != 0; ++l, mask >>= 1) {
            if (!(mask & 1u)) continue;
            const int64_t at = xa - x0 + x + l;
            if (box[l] < s.limit[at]) {
              const int k = s.ref_at[at];
              insert_match(box[l], yc * W + cols[k] + dx, k, K, s, job.tau_ssd, at);
            }
          }
        }
      }
    }
  }
}
#endif
