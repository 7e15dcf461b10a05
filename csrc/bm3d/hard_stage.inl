// Part of stage_kernels.inl: stage 1, collaborative hard thresholding of one group.
//
// Per channel: 2-D transform of the g blocks, Haar along the group, coefficients with magnitude
// at most lambda_3d * sigma * sqrt(v) set to zero (v: the coefficient's exact variance in units of
// sigma^2, group_variance), inverse transforms, and aggregation with weight 1 / (sum of the kept
// coefficients' v) -- the reference's 1 / (sum of the kept variances) without the sigma^2 every
// group of the channel shares.

template <int N>
void hard_group(const detail::StageJob& job, const int64_t* pos, int g, const detail::Scratch& s) {
  constexpr int NN = N * N;
  const int total = g * NN;
  for (int c = 0; c < job.channels; ++c) {
    float* __restrict grp = s.group;
    const float* __restrict plane = job.noisy[c];
    for (int m = 0; m < g; ++m)
      transform_2d<N>(plane + pos[m], job.width, job.fwd, job.fwd_t, grp + m * NN);
    haar_forward(grp, g, NN);
    const float thr = job.threshold[c];
    const float* __restrict var = s.var;  // the same for every channel: computed once below
    if (c == 0) group_variance<N>(job, pos, g, s.var);
    // Eight partial sums, one per lane: the same order of additions at every SIMD level.
    float part[8] = {};
    int i = 0;
    if constexpr (NN % 8 == 0) {
      const vec8 t2 = splat8(thr * thr);
      vec8 kept8{};
      for (; i < total; i += 8) {
        const vec8 v = load8(grp + i), vv = load8(var + i);
        const ivec8 keep = v * v > t2 * vv;  // lanes: -1 kept, 0 zeroed
        store8(grp + i, reinterpret_cast<vec8>(reinterpret_cast<ivec8>(v) & keep));
        kept8 += reinterpret_cast<vec8>(reinterpret_cast<ivec8>(vv) & keep);
      }
      for (int l = 0; l < 8; ++l) part[l] = kept8[l];
    }
    for (; i < total; ++i) {
      const bool keep = grp[i] * grp[i] > thr * thr * var[i];
      grp[i] = keep ? grp[i] : 0.0f;
      part[0] += keep ? var[i] : 0.0f;
    }
    const float kept = ((part[0] + part[1]) + (part[2] + part[3])) +
                       ((part[4] + part[5]) + (part[6] + part[7]));
    haar_inverse(grp, g, NN);
    const float weight = kept > 0.0f ? 1.0f / kept : 1.0f;
    float* __restrict wwin = s.block + NN;
    for (int k = 0; k < NN; ++k) wwin[k] = weight * job.window[k];
    for (int m = 0; m < g; ++m) {
      transform_2d<N>(grp + m * NN, N, job.inv, job.inv_t, s.block);
      aggregate_block<N>(s.block, wwin, job.num[c], job.den[c], pos[m], job.width);
    }
  }
}
