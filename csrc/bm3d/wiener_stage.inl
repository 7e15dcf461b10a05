// Part of stage_kernels.inl: stage 2, collaborative empirical Wiener filtering of one group.
//
// Per channel: 3-D transform (2-D per block, Haar along the group) of the noisy group and of the
// basic estimate's group; shrinkage of the noisy spectrum by B^2 / (B^2 + mu2 sigma^2); inverse
// transforms; aggregation with weight 1 / sum(shrinkage^2) -- the reference's
// 1 / (sigma^2 ||W||^2) without the sigma^2 every group of the channel shares -- with each
// coefficient's exact variance sigma^2 v for sigma^2 (group_variance): shrinkage
// B^2 / (B^2 + mu2 sigma^2 v) and weight 1 / sum(shrinkage^2 v).

template <int N>
void wiener_group(const detail::StageJob& job, const int64_t* pos, int g,
                  const detail::Scratch& s) {
  constexpr int NN = N * N;
  const int total = g * NN;
  for (int c = 0; c < job.channels; ++c) {
    float* __restrict grp = s.group;
    float* __restrict pil = s.group2;
    const float* __restrict plane = job.noisy[c];
    const float* __restrict pilot = job.pilot[c];
    for (int m = 0; m < g; ++m) {
      transform_2d<N>(plane + pos[m], job.width, job.fwd, job.fwd_t, grp + m * NN);
      transform_2d<N>(pilot + pos[m], job.width, job.fwd, job.fwd_t, pil + m * NN);
    }
    haar_forward(grp, g, NN);
    haar_forward(pil, g, NN);
    const float s2 = job.wiener_s2[c];
    if (c == 0) group_variance<N>(job, pos, g, s.var);  // the same for every channel
    const float* __restrict var = s.var;
    // Eight partial sums, one per lane: the same order of additions at every SIMD level.
    vec8 part8{};
    const vec8 s2v = splat8(s2);
    int i = 0;
    for (; i + 8 <= total; i += 8) {
      const vec8 p = load8(pil + i), vv = load8(var + i);
      const vec8 b2 = p * p;
      const vec8 w = b2 / (b2 + s2v * vv);
      store8(grp + i, load8(grp + i) * w);
      part8 = mul_add8(w * w, vv, part8);
    }
    float part[8];
    for (int l = 0; l < 8; ++l) part[l] = part8[l];
    for (; i < total; ++i) {
      const float v = var[i];
      const float b2 = pil[i] * pil[i];
      const float w = b2 / (b2 + s2 * v);
      grp[i] *= w;
      part[0] = mul_add(w * w, v, part[0]);
    }
    const float energy = ((part[0] + part[1]) + (part[2] + part[3])) +
                         ((part[4] + part[5]) + (part[6] + part[7]));
    haar_inverse(grp, g, NN);
    const float weight = energy > 0.0f ? 1.0f / energy : 1.0f;
    float* __restrict wwin = s.block + NN;
    for (int k = 0; k < NN; ++k) wwin[k] = weight * job.window[k];
    for (int m = 0; m < g; ++m) {
      transform_2d<N>(grp + m * NN, N, job.inv, job.inv_t, s.block);
      aggregate_block<N>(s.block, wwin, job.num[c], job.den[c], pos[m], job.width);
    }
  }
}
