// Bindings for the PatchMatch inpainting (csrc/inpaint).
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "inpaint/patchmatch.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;

py::array patchmatch_py(py::array image, py::array mask, const py::object& patch_size,
                        const py::object& em_iterations, const py::object& pm_passes,
                        const py::object& max_levels, const py::object& seed) {
  py::array src = image;
  const ImageView in = image_view(src, "image");
  const std::string kind(1, mask.dtype().kind());
  if (!(kind == "b" || (kind == "u" && mask.dtype().itemsize() == 1)))
    throw py::type_error("mask must be a bool or uint8 (H, W) array, got " + std::string(py::str(mask.dtype())));
  if (mask.ndim() != 2 || mask.shape(0) != in.height || mask.shape(1) != in.width)
    throw py::value_error("mask must have shape (" + std::to_string(in.height) + ", " + std::to_string(in.width) +
                          ") like the image, got " + shape_string(mask));
  py::array m = ensure_array(mask, py::array::c_style);
  ImageView mv;
  mv.data = const_cast<void*>(m.data());
  mv.dtype = DType::u8;
  mv.height = in.height;
  mv.width = in.width;
  mv.channels = 1;
  mv.row_stride = in.width;

  inpaint::PatchMatchParams p;
  p.patch_size = int_arg(patch_size, "patch_size");
  p.em_iterations = int_arg(em_iterations, "em_iterations");
  p.pm_passes = int_arg(pm_passes, "pm_passes");
  p.max_levels = int_arg(max_levels, "max_levels");
  const int64_t s = int_arg(seed, "seed");
  if (s < 0 || s == INT64_MAX)
    throw py::value_error("seed must be in 0..2**63-2, got " + short_repr(seed));
  p.seed = static_cast<uint64_t>(s);
  inpaint::validate(p);

  std::vector<py::ssize_t> shape(image.shape(), image.shape() + image.ndim());
  py::array out(image.dtype(), shape);
  ImageView o = in;
  o.data = out.mutable_data();
  o.row_stride = in.width * in.channels;
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    inpaint::fill(in, mv, o, p, pool.get());
  }
  return out;
}

}  // namespace

void bind_inpaint(py::module_& m) {
  // Arguments but the arrays are taken as Python objects and converted here, so that a wrong
  // type names the argument instead of printing the image.
  m.def("patchmatch_inpaint", &patchmatch_py, "image"_a, "mask"_a, py::kw_only(), "patch_size"_a = 7,
        "em_iterations"_a = 3, "pm_passes"_a = 4, "max_levels"_a = 0, "seed"_a = 0,
        R"doc(Exemplar-based inpainting (PatchMatch nearest-neighbour fields, multi-scale EM voting).

image: (H, W) or (H, W, C), C in 1, 3, 4; uint8, uint16 or float32 (any range).
mask: (H, W) bool or uint8, nonzero = missing.
patch_size: odd, 3..31.  em_iterations: search + vote rounds per level, 1..50 (twice as many at
the coarsest).  pm_passes: PatchMatch passes per round, 1..16.  max_levels: 0 = automatic, 1..16.
seed: 0..2**63-2; the result depends only on the inputs and the seed, not on the thread count.
Returns a new array like image: pixels outside the mask copied exactly, the holes filled.
Raises ValueError when no patch is fully known, the image is smaller than a patch, or a known
float sample is not finite.)doc");
}

}  // namespace imgen::bindings
