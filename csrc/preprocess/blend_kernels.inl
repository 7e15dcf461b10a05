// Tile-blend row kernel; included with IMGEN_SIMD_NS naming the SIMD level (see blend_impl.hpp).
// Plain loops for the auto-vectoriser; no std templates (they could leak between SIMD levels).

#ifndef IMGEN_SIMD_NS
#error "define IMGEN_SIMD_NS before including blend_kernels.inl"
#endif

namespace imgen::IMGEN_SIMD_NS {
namespace {

// r = w / (W + w) with w = wy * wx, and W += w.  A first contribution with zero weight must
// still define m, so r = 1 while the total is 0; the next positive weight then gives r = 1
// again and replaces it.  Branch-free so that it vectorises.
void compute_ratios(float* __restrict ratio, float* __restrict wsum, const float* __restrict wx,
                    float wy, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float w = wy * wx[i];
    const float total = wsum[i] + w;
    const float safe = total > 0.0f ? total : 1.0f;
    const float r = w / safe;
    ratio[i] = total > 0.0f ? r : 1.0f;
    wsum[i] = total;
  }
}

// m += r * (x - m): exact when x == m.  r == 1 marks a pixel's first contribution (or one that
// outweighs all before it): m = x, whatever m held, so the buffer starts uninitialised.
template <class T>
void blend_row(float* __restrict m, const T* __restrict x, const float* __restrict r, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(x[i]);
    m[i] = r[i] == 1.0f ? v : m[i] + r[i] * (v - m[i]);
  }
}

}  // namespace

void blend_tile_row(const blend_detail::BlendRow& row) {
  compute_ratios(row.ratio, row.wsum, row.wx, row.wy, row.n);
  for (int64_t c = 0; c < row.channels; ++c) {
    if (row.half)
      blend_row(row.mean[c], static_cast<const float16_t*>(row.src[c]), row.ratio, row.n);
    else
      blend_row(row.mean[c], static_cast<const float*>(row.src[c]), row.ratio, row.n);
  }
}

}  // namespace imgen::IMGEN_SIMD_NS
