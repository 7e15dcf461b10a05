// Bindings for PSNR and SSIM.
#include <cmath>
#include <string>

#include "bindings/common.hpp"
#include "metrics/metrics.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;

struct ImagePair {
  ImageView a;
  ImageView b;
};

// Views of two images that must match in shape and dtype.  Arrays whose pixels are not
// contiguous are copied into `a` / `b` by image_view; row-strided views are not.
ImagePair image_pair(py::array& a, py::array& b, const char* fn) {
  const ImageView va = image_view(a, std::string(fn) + ": a");
  const ImageView vb = image_view(b, std::string(fn) + ": b");
  if (va.dtype != vb.dtype)
    throw py::type_error(std::string(fn) + ": a and b must have the same dtype, got " +
                         dtype_name(va.dtype) + " and " + dtype_name(vb.dtype));
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same)
    throw py::value_error(std::string(fn) + ": a and b must have the same shape, got " +
                          shape_string(a) + " and " + shape_string(b));
  return {va, vb};
}

// data_range, defaulting to the white level of the dtype: 255, 65535, or 1.0 for float32.
double data_range_of(const py::object& data_range, DType t, const char* fn) {
  if (data_range.is_none()) return t == DType::u8 ? 255.0 : t == DType::u16 ? 65535.0 : 1.0;
  double v;
  try {
    v = data_range.cast<double>();
  } catch (py::cast_error&) {
    throw py::type_error(std::string(fn) + ": data_range must be a number, got " +
                         std::string(py::str(py::type::of(data_range).attr("__name__"))));
  }
  if (!std::isfinite(v) || v <= 0.0)
    throw py::value_error(std::string(fn) + ": data_range must be positive and finite, got " +
                          std::string(py::repr(data_range)));
  return v;
}

double psnr_py(py::array a, py::array b, const py::object& data_range) {
  const ImagePair p = image_pair(a, b, "psnr");
  const double range = data_range_of(data_range, p.a.dtype, "psnr");
  auto pool = current_pool();
  double mse;
  {
    py::gil_scoped_release release;
    mse = mean_squared_error(p.a, p.b, pool.get());
  }
  if (!std::isfinite(mse)) throw py::value_error("psnr: a or b contains NaN or infinity");
  return psnr_from_mse(mse, range);
}

double ssim_py(py::array a, py::array b, const py::object& data_range) {
  const ImagePair p = image_pair(a, b, "ssim");
  if (p.a.height < kSsimTaps || p.a.width < kSsimTaps)
    throw py::value_error("ssim: the images must be at least " + std::to_string(kSsimTaps) + "x" +
                          std::to_string(kSsimTaps) + " pixels (the Gaussian window), got " +
                          std::to_string(p.a.height) + "x" + std::to_string(p.a.width));
  SsimParams params;
  params.data_range = data_range_of(data_range, p.a.dtype, "ssim");
  auto pool = current_pool();
  double result;
  {
    py::gil_scoped_release release;
    result = ssim(p.a, p.b, params, pool.get());
  }
  if (std::isnan(result)) throw py::value_error("ssim: a or b contains NaN or infinity");
  return result;
}

}  // namespace

void bind_metrics(py::module_& m) {
  m.def("psnr", &psnr_py, "a"_a, "b"_a, py::kw_only(), "data_range"_a = py::none(),
        R"doc(Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE); inf if a == b.

a, b: HWC images (H, W) or (H, W, C), C in {1, 3, 4}, the same shape and dtype (uint8, uint16
    or float32).  data_range defaults to 255, 65535 or 1.0 (float32).
Raises ValueError when a float image holds NaN or infinity.)doc");
  m.def("ssim", &ssim_py, "a"_a, "b"_a, py::kw_only(), "data_range"_a = py::none(),
        R"doc(Mean structural similarity (Wang et al. 2004), Gaussian window sigma 1.5, 11 taps.

a, b: HWC images (H, W) or (H, W, C), C in {1, 3, 4}, at least 11x11, the same shape and dtype
    (uint8, uint16 or float32).  data_range defaults to 255, 65535 or 1.0 (float32); it must lie in
    [1e-60, 1e60] (C1 and C2 are its squares).
Colour images give the mean of the per-channel SSIM.
Raises ValueError when a float image holds NaN or infinity.)doc");
}

}  // namespace imgen::bindings
