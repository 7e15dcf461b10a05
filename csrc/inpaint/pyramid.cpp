// The mask-aware pyramid of the PatchMatch inpainting: patch marks, 2x downsampling and the
// onion-peel start of the coarsest level.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "inpaint/inpaint_impl.hpp"

namespace imgen::inpaint::detail {

void mark_patches(Level& level, int r, ThreadPool* pool) {
  const int64_t h = level.h, w = level.w;
  // Summed-area table of the hole: (h + 1) x (w + 1).
  std::vector<int64_t> sat(static_cast<size_t>((h + 1) * (w + 1)), 0);
  for (int64_t y = 0; y < h; ++y) {
    int64_t row = 0;
    for (int64_t x = 0; x < w; ++x) {
      row += level.hole[static_cast<size_t>(level.index(y, x))];
      sat[static_cast<size_t>((y + 1) * (w + 1) + x + 1)] = sat[static_cast<size_t>(y * (w + 1) + x + 1)] + row;
    }
  }
  const auto box = [&](int64_t y0, int64_t x0, int64_t y1, int64_t x1) {  // [y0, y1) x [x0, x1)
    return sat[static_cast<size_t>(y1 * (w + 1) + x1)] - sat[static_cast<size_t>(y0 * (w + 1) + x1)] -
           sat[static_cast<size_t>(y1 * (w + 1) + x0)] + sat[static_cast<size_t>(y0 * (w + 1) + x0)];
  };
  level.source.assign(static_cast<size_t>(h * w), 0);
  level.target.assign(static_cast<size_t>(h * w), 0);
  std::vector<int64_t> counts(static_cast<size_t>(h) * 2, 0);
  run_rows(pool, h, 16, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const int64_t y0 = std::max<int64_t>(y - r, 0), y1 = std::min<int64_t>(y + r + 1, h);
        const int64_t x0 = std::max<int64_t>(x - r, 0), x1 = std::min<int64_t>(x + r + 1, w);
        const int64_t missing = box(y0, x0, y1, x1);
        const bool inside = y >= r && y < h - r && x >= r && x < w - r;
        const size_t i = static_cast<size_t>(level.index(y, x));
        level.source[i] = inside && missing == 0;
        level.target[i] = missing > 0;
        counts[static_cast<size_t>(2 * y)] += level.source[i];
        counts[static_cast<size_t>(2 * y + 1)] += level.target[i];
      }
    }
  });
  level.sources = level.targets = 0;
  for (int64_t y = 0; y < h; ++y) {
    level.sources += counts[static_cast<size_t>(2 * y)];
    level.targets += counts[static_cast<size_t>(2 * y + 1)];
  }
}

Level downsample(const Level& fine, ThreadPool* pool) {
  Level out;
  out.h = (fine.h + 1) / 2;
  out.w = (fine.w + 1) / 2;
  out.c = fine.c;
  out.img.assign(static_cast<size_t>(out.h * out.w * out.c), 0.0f);
  out.hole.assign(static_cast<size_t>(out.h * out.w), 0);
  run_rows(pool, out.h, 16, [&](int64_t b, int64_t e) {
    for (int64_t y = b; y < e; ++y) {
      for (int64_t x = 0; x < out.w; ++x) {
        int known = 0, children = 0;
        float sum[4] = {0, 0, 0, 0};
        for (int64_t fy = 2 * y; fy < std::min(2 * y + 2, fine.h); ++fy) {
          for (int64_t fx = 2 * x; fx < std::min(2 * x + 2, fine.w); ++fx) {
            ++children;
            const size_t i = static_cast<size_t>(fine.index(fy, fx));
            if (fine.hole[i]) continue;
            ++known;
            for (int64_t k = 0; k < fine.c; ++k) sum[k] += fine.img[i * static_cast<size_t>(fine.c) + static_cast<size_t>(k)];
          }
        }
        const size_t o = static_cast<size_t>(out.index(y, x));
        out.hole[o] = known < children;
        if (known > 0)
          for (int64_t k = 0; k < out.c; ++k)
            out.img[o * static_cast<size_t>(out.c) + static_cast<size_t>(k)] = sum[k] / static_cast<float>(known);
      }
    }
  });
  return out;
}

void onion_fill(Level& level) {
  const int64_t h = level.h, w = level.w, c = level.c;
  // layer[i]: 0 for known pixels, k for pixels k steps (8-connected) from the known ones.
  std::vector<int32_t> layer(static_cast<size_t>(h * w), -1);
  std::vector<int64_t> frontier, next;
  for (int64_t i = 0; i < h * w; ++i) {
    if (!level.hole[static_cast<size_t>(i)]) layer[static_cast<size_t>(i)] = 0;
  }
  for (int64_t i = 0; i < h * w; ++i) {
    if (layer[static_cast<size_t>(i)] != -1) continue;
    const int64_t y = i / w, x = i % w;
    bool edge = false;
    for (int64_t dy = -1; dy <= 1 && !edge; ++dy)
      for (int64_t dx = -1; dx <= 1 && !edge; ++dx) {
        const int64_t yy = y + dy, xx = x + dx;
        if (yy >= 0 && yy < h && xx >= 0 && xx < w && layer[static_cast<size_t>(yy * w + xx)] == 0) edge = true;
      }
    if (edge) {
      layer[static_cast<size_t>(i)] = 1;
      frontier.push_back(i);
    }
  }
  for (int32_t k = 1; !frontier.empty(); ++k) {
    next.clear();
    for (const int64_t i : frontier) {
      const int64_t y = i / w, x = i % w;
      float sum[4] = {0, 0, 0, 0};
      int n = 0;
      for (int64_t dy = -1; dy <= 1; ++dy)
        for (int64_t dx = -1; dx <= 1; ++dx) {
          const int64_t yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const size_t j = static_cast<size_t>(yy * w + xx);
          if (layer[j] == -1) {
            layer[j] = k + 1;
            next.push_back(static_cast<int64_t>(j));
          } else if (layer[j] < k) {
            for (int64_t q = 0; q < c; ++q) sum[q] += level.img[j * static_cast<size_t>(c) + static_cast<size_t>(q)];
            ++n;
          }
        }
      for (int64_t q = 0; q < c; ++q)
        level.img[static_cast<size_t>(i * c + q)] = n ? sum[q] / static_cast<float>(n) : 0.0f;
    }
    frontier.swap(next);
  }
}

}  // namespace imgen::inpaint::detail
