// Part of stage_kernels.inl: block matching for one row of reference blocks of a tile.
//
// For every candidate row yc of the search window and every horizontal offset dx, the column sums
// of squared differences between the N reference rows and the N candidate rows (shifted by dx) are
// computed once over the pixel span of the tile's reference blocks; each reference block's
// distance is then a sum of N consecutive column sums.  This shares the per-pixel work between
// the overlapping reference blocks of the row (step < N) and vectorises along the row.

// Keeps the K smallest distances of reference k sorted ascending (the reference itself, distance
// 0, stays first: ties go after existing entries).
inline void insert_match(float d, int64_t at, int k, int K, const detail::Scratch& s,
                         float tau_ssd) {
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
  s.limit[k] = s.count[k] == K ? dist[K - 1] : tau_ssd;
}

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
    s.limit[k] = K == 1 ? 0.0f : job.tau_ssd;
  }
  if (K == 1) return;
  const int64_t y_lo = r - h < 0 ? 0 : r - h;
  const int64_t y_hi = r + h > H - N ? H - N : r + h;
  const float* __restrict ref = img + r * W;
  for (int64_t yc = y_lo; yc <= y_hi; ++yc) {
    const float* __restrict cand = img + yc * W;
    for (int64_t dx = -h; dx <= h; ++dx) {
      if (yc == r && dx == 0) continue;
      // The reference blocks whose candidate lies inside the image: 0 <= col + dx <= W - N.
      int ka = 0, kb = ncols;
      while (ka < kb && cols[ka] + dx < 0) ++ka;
      while (kb > ka && cols[kb - 1] + dx > W - N) --kb;
      if (ka >= kb) continue;
      const int64_t xa = cols[ka];
      const int64_t span = cols[kb - 1] + N - xa;
      float* __restrict diff = s.diff;
      {
        const float* __restrict a = ref + xa;
        const float* __restrict b = cand + xa + dx;
        for (int64_t x = 0; x < span; ++x) {
          const float e = a[x] - b[x];
          diff[x] = e * e;
        }
        for (int i = 1; i < N; ++i) {
          const float* __restrict ai = a + i * W;
          const float* __restrict bi = b + i * W;
          for (int64_t x = 0; x < span; ++x) {
            const float e = ai[x] - bi[x];
            diff[x] = mul_add(e, e, diff[x]);
          }
        }
      }
      float* __restrict box = s.box;
      const int64_t nbox = span - N + 1;
      for (int64_t x = 0; x < nbox; ++x) {
        float acc = diff[x];
        for (int j = 1; j < N; ++j) acc += diff[x + j];
        box[x] = acc;
      }
      const int64_t base = yc * W + dx;
      for (int k = ka; k < kb; ++k) {
        const float d = box[cols[k] - xa];
        if (d < s.limit[k]) insert_match(d, base + cols[k], k, K, s, job.tau_ssd);
      }
    }
  }
}
