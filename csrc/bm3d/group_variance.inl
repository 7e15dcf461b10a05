// Part of stage_kernels.inl: the exact variances of a group's 3-D coefficients under white noise.
//
// Blocks of a group that overlap share noise samples, so their 2-D coefficients are correlated:
// for the 2-D basis function t and blocks at p_m, p_n, Cov = sigma^2 A_t(p_n - p_m) with A_t the
// autocorrelation of t.  The Haar coefficient q along the group, sum_m H[q][m] c_m, then has the
// variance sigma^2 (A_t(0) + sum_{m != n} H[q][m] H[q][n] A_t(p_n - p_m)) -- the reference's
// exact-variance shrinkage (Makinen, Azzari, Foi, IEEE TIP 2020) for white noise.

// var[q * N^2 + k] = the variance of coefficient (q, k) of the group at `pos` (g blocks), in units
// of sigma^2.
template <int N>
void group_variance(const detail::StageJob& job, const int64_t* pos, int g, float* __restrict var) {
  constexpr int NN = N * N;
  constexpr int D = 2 * N - 1;
  const float* __restrict a0 = job.autocorr + ((N - 1) * D + (N - 1)) * NN;
  for (int q = 0; q < g; ++q)
    for (int k = 0; k < NN; ++k) var[q * NN + k] = a0[k];
  if (g < 2) return;
  const float* __restrict h = job.haar + (g * g - 1) / 3;
  int64_t y[64], x[64];
  // The Haar coefficients block m contributes to (log2(g) + 1 of the g): the pairs' loop below
  // visits only those.
  int qs[64][8];
  int nq[64];
  for (int m = 0; m < g; ++m) {
    y[m] = pos[m] / job.width;
    x[m] = pos[m] - y[m] * job.width;
    nq[m] = 0;
    for (int q = 0; q < g && nq[m] < 8; ++q)
      if (h[q * g + m] != 0.0f) qs[m][nq[m]++] = q;
  }
  bool overlap = false;
  for (int m = 0; m < g; ++m) {
    for (int n = m + 1; n < g; ++n) {
      const int64_t dy = y[n] - y[m], dx = x[n] - x[m];
      if (dy <= -N || dy >= N || dx <= -N || dx >= N) continue;
      overlap = true;
      const float* __restrict a = job.autocorr + ((dy + N - 1) * D + (dx + N - 1)) * NN;
      for (int t = 0; t < nq[m]; ++t) {
        const int q = qs[m][t];
        const float hh = 2.0f * h[q * g + m] * h[q * g + n];
        if (hh == 0.0f) continue;
        float* __restrict v = var + q * NN;
        for (int k = 0; k < NN; ++k) v[k] = mul_add(hh, a[k], v[k]);
      }
    }
  }
  // Distinct blocks give a positive variance; rounding could leave a cancelled one at or below 0,
  // which would divide by zero in the Wiener shrinkage.
  if (overlap)
    for (int i = 0; i < g * NN; ++i) var[i] = var[i] > 1e-6f ? var[i] : 1e-6f;
}
