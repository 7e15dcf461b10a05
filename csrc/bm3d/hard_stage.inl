// Part of stage_kernels.inl: stage 1, collaborative hard thresholding of one group.
//
// Per channel: 2-D transform of the g blocks, Haar along the group, coefficients with magnitude
// at most lambda_3d * sigma set to zero, inverse transforms, and aggregation with weight
// 1 / (number of coefficients kept) -- the reference's 1 / (sigma^2 N_har) without the sigma^2
// every group of the channel shares.

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
    int kept = 0;
    int i = 0;
    if constexpr (NN % 8 == 0) {
      const vec8 t = splat8(thr);
      ivec8 count{};
      for (; i < total; i += 8) {
        const vec8 v = load8(grp + i);
        const ivec8 keep = (v > t) | (v < -t);  // lanes: -1 kept, 0 zeroed
        store8(grp + i, reinterpret_cast<vec8>(reinterpret_cast<ivec8>(v) & keep));
        count -= keep;
      }
      for (int l = 0; l < 8; ++l) kept += count[l];
    }
    for (; i < total; ++i) {
      const bool keep = grp[i] > thr || grp[i] < -thr;
      grp[i] = keep ? grp[i] : 0.0f;
      kept += keep ? 1 : 0;
    }
    haar_inverse(grp, g, NN);
    const float weight = 1.0f / static_cast<float>(kept > 0 ? kept : 1);
    float* __restrict wwin = s.block + NN;
    for (int k = 0; k < NN; ++k) wwin[k] = weight * job.window[k];
    for (int m = 0; m < g; ++m) {
      transform_2d<N>(grp + m * NN, N, job.inv, job.inv_t, s.block);
      aggregate_block<N>(s.block, wwin, job.num[c], job.den[c], pos[m], job.width);
    }
  }
}
