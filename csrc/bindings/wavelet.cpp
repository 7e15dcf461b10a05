// Bindings for the wavelet transform and wavelet-shrinkage denoiser (csrc/wavelet).
#include <pybind11/stl.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "wavelet/dwt.hpp"
#include "wavelet/filters.hpp"
#include "wavelet/shrink.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;
namespace wv = imgen::wavelet;

using FloatArray = Float32Array;

constexpr int k_max_shifts = 256;
constexpr int k_max_transform_levels = 30;

const wv::Wavelet& parse_wavelet(const py::object& obj) {
  if (!py::isinstance<py::str>(obj))
    throw py::type_error("wavelet must be a name such as 'db1', got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  const auto name = obj.cast<std::string>();
  const wv::Wavelet* w = wv::find_wavelet(name);
  if (!w)
    throw py::value_error("unknown wavelet '" + name + "'; supported: " +
                          wv::supported_wavelet_names());
  return *w;
}

std::string choice(const py::object& obj, const char* name) {
  if (!py::isinstance<py::str>(obj))
    throw py::type_error(std::string(name) + " must be a string");
  return obj.cast<std::string>();
}

bool all_finite(const ImageView& v) {
  if (v.dtype != DType::f32) return true;
  const int64_t n = v.width * v.channels;
  for (int64_t y = 0; y < v.height; ++y) {
    const float* r = v.row<float>(y);
    uint32_t bad = 0;  // NaN and infinity have every exponent bit set
    for (int64_t i = 0; i < n; ++i)
      bad |= static_cast<uint32_t>((std::bit_cast<uint32_t>(r[i]) & 0x7f800000u) == 0x7f800000u);
    if (bad) return false;
  }
  return true;
}

py::array denoise_py(const py::array& image_in, const py::object& sigma, const py::object& wavelet,
                     const py::object& levels, const py::object& method, const py::object& mode,
                     const py::object& shifts, const py::object& thresholds) {
  py::array image = image_in;
  const ImageView src = image_view(image, "image");
  wv::DenoiseParams p;
  p.wavelet = &parse_wavelet(wavelet);
  const int f = p.wavelet->length;

  if (!sigma.is_none()) {
    if (py::isinstance<py::bool_>(sigma) ||
        !(py::isinstance<py::float_>(sigma) || py::isinstance<py::int_>(sigma) ||
          py::hasattr(sigma, "__float__")))
      throw py::type_error("sigma must be a number or None (estimate it), got " +
                           std::string(py::str(py::type::of(sigma).attr("__name__"))));
    p.sigma = float_arg(sigma, "sigma");  // an int beyond the double range: inf
    if (!(p.sigma >= 0.0 && p.sigma <= 1.0))
      throw py::value_error("sigma must be in [0, 1], a fraction of the full range (25 on the 0-255 "
                            "scale is 25/255 = 0.098), got " + short_repr(sigma));
  }

  const int most = wv::max_levels(src.height, src.width, f);
  if (!levels.is_none()) {
    const int64_t l = int_arg(levels, "levels");  // saturates beyond int64
    if (l < 1 || l > most)
      throw py::value_error("levels must be between 1 and " + std::to_string(most) + " for a " +
                            std::to_string(src.height) + "x" + std::to_string(src.width) +
                            " image with " + std::string(p.wavelet->name) + ", got " +
                            short_repr(levels) + " (None: " +
                            std::to_string(wv::default_levels(src.height, src.width, f)) + ")");
    p.levels = static_cast<int>(l);
  }

  const std::string m = choice(method, "method");
  if (m == "bayes" || m == "BayesShrink") p.method = wv::ThresholdMethod::bayes;
  else if (m == "visu" || m == "VisuShrink") p.method = wv::ThresholdMethod::visu;
  else throw py::value_error("method must be 'bayes' (BayesShrink) or 'visu' (VisuShrink), got '" + m + "'");

  const std::string md = choice(mode, "mode");
  if (md == "soft") p.mode = wv::ThresholdMode::soft;
  else if (md == "hard") p.mode = wv::ThresholdMode::hard;
  else throw py::value_error("mode must be 'soft' or 'hard', got '" + md + "'");

  const int64_t s = int_arg(shifts, "shifts");
  if (s < 1 || s > k_max_shifts)
    throw py::value_error("shifts must be between 1 and " + std::to_string(k_max_shifts) +
                          " (1: no cycle spinning), got " + short_repr(shifts));
  p.shifts = static_cast<int>(s);

  FloatArray given;
  if (!thresholds.is_none()) {
    const int nplanes = src.channels >= 3 ? 3 : 1;
    const int nl = p.levels > 0 ? p.levels : wv::default_levels(src.height, src.width, f);
    if (!py::isinstance<py::array>(thresholds))
      throw py::type_error("thresholds must be a numpy array of shape (planes, levels, 3) or None");
    given = ensure_float32(py::reinterpret_borrow<py::array>(thresholds));
    if (given.ndim() != 3 || given.shape(0) != nplanes || given.shape(1) != nl || given.shape(2) != 3)
      throw py::value_error("thresholds must have shape (" + std::to_string(nplanes) + ", " + std::to_string(nl) +
                            ", 3) (planes, levels finest first, bands H/V/D) for this image, got " +
                            shape_string(given));
    const float* t = given.data();
    for (py::ssize_t i = 0; i < given.size(); ++i)
      if (!(t[i] >= 0.0f && std::isfinite(t[i])))
        throw py::value_error("thresholds must be finite and >= 0");
    p.thresholds = t;
  }

  std::vector<py::ssize_t> shape(image.shape(), image.shape() + image.ndim());
  py::array result(image.dtype(), shape);
  ImageView dst = src;
  dst.data = result.mutable_data();
  dst.row_stride = src.width * src.channels;
  auto pool = current_pool();
  bool finite;
  {
    py::gil_scoped_release release;
    finite = all_finite(src);
    if (finite) wv::denoise(src, dst, p, pool.get());
  }
  if (!finite) throw py::value_error("image contains NaN or infinity");
  return result;
}

wv::Plane plane_of(FloatArray& a) {
  return wv::Plane{a.mutable_data(), a.shape(0), a.shape(1), a.shape(1)};
}

FloatArray as_float_2d(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(what + " must be a numpy array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  const auto arr = py::reinterpret_borrow<py::array>(obj);
  if (arr.dtype().kind() != 'f' && arr.dtype().kind() != 'u' && arr.dtype().kind() != 'i')
    throw py::type_error(what + " must hold real numbers, got " + std::string(py::str(arr.dtype())));
  if (arr.ndim() != 2)
    throw py::value_error(what + " must be 2-D, got shape " + shape_string(arr));
  if (arr.shape(0) == 0 || arr.shape(1) == 0)
    throw py::value_error(what + " is empty (shape " + shape_string(arr) + ")");
  return ensure_float32(arr);
}

py::list dwt2_py(const py::object& image, const py::object& wavelet, const py::object& levels) {
  FloatArray src = as_float_2d(image, "image");
  const wv::Wavelet& w = parse_wavelet(wavelet);
  const int f = w.length;
  const int64_t h = src.shape(0), wd = src.shape(1);
  int64_t nl = wv::max_level(std::min(h, wd), f);
  if (!levels.is_none()) {
    nl = int_arg(levels, "levels");
    if (nl < 0 || nl > k_max_transform_levels)
      throw py::value_error("levels must be between 0 and " + std::to_string(k_max_transform_levels) +
                            " (pywt.dwt_max_level gives " +
                            std::to_string(wv::max_level(std::min(h, wd), f)) + " here), got " +
                            short_repr(levels));
  }
  std::vector<std::array<FloatArray, 3>> bands;
  std::vector<wv::DetailBands> details;
  int64_t bh = h, bw = wd;
  for (int64_t l = 0; l < nl; ++l) {
    bh = wv::coeff_len(bh, f);
    bw = wv::coeff_len(bw, f);
    bands.push_back({FloatArray({bh, bw}), FloatArray({bh, bw}), FloatArray({bh, bw})});
    auto& b = bands.back();
    details.push_back(wv::DetailBands{plane_of(b[0]), plane_of(b[1]), plane_of(b[2])});
  }
  FloatArray approx({bh, bw});
  const wv::FilterBank fb(w);
  const wv::Plane s{const_cast<float*>(src.data()), h, wd, wd};
  const wv::Plane a = plane_of(approx);
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    wv::dwt2(s, fb, a, details, pool.get());
  }
  py::list out;
  out.append(approx);
  for (auto it = bands.rbegin(); it != bands.rend(); ++it)
    out.append(py::make_tuple((*it)[0], (*it)[1], (*it)[2]));
  return out;
}

std::string shape2(int64_t h, int64_t w) {
  return "(" + std::to_string(h) + ", " + std::to_string(w) + ")";
}

FloatArray idwt2_py(const py::object& coeffs, const py::object& wavelet, const py::object& shape) {
  const wv::Wavelet& w = parse_wavelet(wavelet);
  const int f = w.length;
  if (!py::isinstance<py::sequence>(coeffs) || py::isinstance<py::str>(coeffs))
    throw py::type_error("coeffs must be a list [cA, (cH, cV, cD), ...] as dwt2 / pywt.wavedec2 "
                         "return it");
  const auto seq = coeffs.cast<py::sequence>();
  if (seq.size() == 0) throw py::value_error("coeffs is empty");
  std::vector<FloatArray> keep;
  keep.push_back(as_float_2d(seq[0], "coeffs[0] (cA)"));
  // Levels as given (coarsest first), then reversed into details[0] = finest.
  std::vector<wv::DetailBands> coarse_first;
  for (size_t i = 1; i < seq.size(); ++i) {
    const py::object item = seq[i];
    if (!py::isinstance<py::sequence>(item) || py::len(item) != 3)
      throw py::type_error("coeffs[" + std::to_string(i) + "] must be a (cH, cV, cD) tuple");
    const auto t = item.cast<py::sequence>();
    wv::DetailBands d;
    wv::Plane* planes[3] = {&d.h, &d.v, &d.d};
    const char* names[3] = {"cH", "cV", "cD"};
    for (size_t k = 0; k < 3; ++k) {
      keep.push_back(as_float_2d(t[k], "coeffs[" + std::to_string(i) + "] " + names[k]));
      *planes[k] = plane_of(keep.back());
    }
    if (d.v.height != d.h.height || d.v.width != d.h.width || d.d.height != d.h.height ||
        d.d.width != d.h.width)
      throw py::value_error("coeffs[" + std::to_string(i) +
                            "]: cH, cV and cD must have the same shape");
    coarse_first.push_back(d);
  }
  const wv::Plane approx = plane_of(keep[0]);
  std::vector<wv::DetailBands> details(coarse_first.rbegin(), coarse_first.rend());
  // Each level gives 2n - F + 2 samples per axis; like pywt.waverec2, one extra is trimmed to
  // the next level's band size.
  int64_t oh = approx.height, ow = approx.width;
  if (!details.empty() && (details.back().h.height != oh || details.back().h.width != ow))
    throw py::value_error("cA has shape " + shape2(oh, ow) + " but the coarsest details " +
                          shape2(details.back().h.height, details.back().h.width));
  for (size_t i = details.size(); i-- > 0;) {
    const int64_t rh = wv::rec_len(details[i].h.height, f), rw = wv::rec_len(details[i].h.width, f);
    if (rh < 1 || rw < 1)
      throw py::value_error("bands of shape " + shape2(details[i].h.height, details[i].h.width) +
                            " are too small for " + std::string(w.name) + " (filter length " +
                            std::to_string(f) + ")");
    oh = rh;
    ow = rw;
    if (i > 0) {
      const int64_t nh = details[i - 1].h.height, nw = details[i - 1].h.width;
      if (rh - nh < 0 || rh - nh > 1 || rw - nw < 0 || rw - nw > 1)
        throw py::value_error("coefficient shape mismatch: a level reconstructs " + shape2(rh, rw) +
                              " but the next level's details are " + shape2(nh, nw));
    }
  }
  if (!shape.is_none()) {
    if (!py::isinstance<py::sequence>(shape) || py::isinstance<py::str>(shape))
      throw py::type_error("shape must be a (height, width) tuple of ints");
    std::vector<int64_t> s;
    for (auto v : py::reinterpret_borrow<py::sequence>(shape)) s.push_back(int_arg(v, "shape"));
    if (s.size() != 2 || s[0] < 1 || s[1] < 1 || s[0] > oh || s[1] > ow)
      throw py::value_error("shape must be (height, width) with 1 <= height <= " +
                            std::to_string(oh) + " and 1 <= width <= " + std::to_string(ow));
    oh = s[0];
    ow = s[1];
  }
  FloatArray out({oh, ow});
  const wv::FilterBank fb(w);
  const wv::Plane dst = plane_of(out);
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    wv::idwt2(approx, details, fb, dst, pool.get());
  }
  return out;
}

}  // namespace

void bind_wavelet(py::module_& m) {
  m.def("wavelet_denoise", &denoise_py, "image"_a, py::kw_only(), "sigma"_a = py::none(),
        "wavelet"_a = "db1", "levels"_a = py::none(), "method"_a = "bayes", "mode"_a = "soft",
        "shifts"_a = 1, "thresholds"_a = py::none(),
        R"doc(Wavelet-shrinkage denoising; see imgen.denoise.wavelet for the arguments.  thresholds: a float32
array (planes, levels finest first, 3 bands H/V/D) used for every shift instead of thresholds from
this image (the tiled path applies the whole image's thresholds to each tile); None computes them.)doc");
  m.def("wavelet_dwt2", &dwt2_py, "image"_a, "wavelet"_a = "db1", "levels"_a = py::none(),
        R"doc(Multi-level 2-D DWT (symmetric mode) in pywt.wavedec2's layout; see imgen.denoise.dwt2.)doc");
  m.def("wavelet_idwt2", &idwt2_py, "coeffs"_a, "wavelet"_a = "db1", py::kw_only(),
        "shape"_a = py::none(),
        R"doc(Inverse of wavelet_dwt2 (pywt.waverec2, symmetric mode); see imgen.denoise.idwt2.)doc");
  m.def(
      "wavelet_names",
      [] {
        std::vector<std::string> names;
        for (const auto& w : wv::supported_wavelets()) names.emplace_back(w.name);
        return names;
      },
      "Names of the supported wavelets.");
  m.def(
      "wavelet_default_levels",
      [](int64_t height, int64_t width, const py::object& wavelet) {
        if (height < 1 || width < 1) throw py::value_error("height and width must be >= 1");
        return wv::default_levels(height, width, parse_wavelet(wavelet).length);
      },
      "height"_a, "width"_a, "wavelet"_a = "db1",
      "The levels imgen.denoise.wavelet uses by default: max(pywt.dwtn_max_level - 3, 1).");
  m.def("wavelet_simd_level", &wv::dwt_simd_level,
        "The SIMD level the wavelet kernels use on this CPU: 'avx2' or 'baseline'.");
}

}  // namespace imgen::bindings
