// Bindings for PSNR / SSIM (filled in with csrc/metrics).
#include "bindings/common.hpp"

namespace imgen::bindings {
void bind_metrics(py::module_&) {}
}  // namespace imgen::bindings
