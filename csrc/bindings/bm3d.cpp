// Bindings for BM3D denoising (csrc/bm3d).
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "bm3d/bm3d.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;

bm3d::Transform2D parse_transform(const std::string& name, const char* what) {
  if (name == "bior1.5") return bm3d::Transform2D::bior15;
  if (name == "dct") return bm3d::Transform2D::dct;
  throw py::value_error(std::string(what) + " must be 'bior1.5' or 'dct', got '" + name + "'");
}

// One stage's keyword arguments; None keeps the profile's value.
struct StageArgs {
  std::optional<int> block_size, step, search_window, max_blocks;
  std::optional<double> tau_match, beta;
  std::optional<std::string> transform;

  void apply(bm3d::StageParams& s, const char* suffix) const {
    if (block_size) s.block_size = *block_size;
    if (step) s.step = *step;
    if (search_window) s.search_window = *search_window;
    if (max_blocks) s.max_blocks = *max_blocks;
    if (tau_match) s.tau_match = static_cast<float>(*tau_match);
    if (beta) s.beta = static_cast<float>(*beta);
    if (transform) s.transform = parse_transform(*transform, (std::string("transform_") + suffix).c_str());
  }
};

float white_level(DType t) {
  return t == DType::u8 ? 255.0f : t == DType::u16 ? 65535.0f : 1.0f;
}

py::dict params_dict(const bm3d::Params& p) {
  auto stage = [](const bm3d::StageParams& s) {
    py::dict d;
    d["block_size"] = s.block_size;
    d["step"] = s.step;
    d["search_window"] = s.search_window;
    d["max_blocks"] = s.max_blocks;
    d["tau_match"] = s.tau_match;
    d["beta"] = s.beta;
    d["transform"] = bm3d::transform_name(s.transform);
    return d;
  };
  py::dict d;
  d["sigma"] = p.sigma;
  d["lambda_3d"] = p.lambda_3d;
  d["mu2"] = p.mu2;
  d["hard"] = stage(p.hard);
  d["wiener"] = stage(p.wiener);
  return d;
}

py::array bm3d_py(py::array image, double sigma, const std::string& stage,
                  const StageArgs& hard, const StageArgs& wiener, std::optional<double> lambda_3d,
                  std::optional<double> mu2) {
  py::array src = image;
  ImageView in = image_view(src, "image");
  if (in.channels != 1 && in.channels != 3)
    throw py::value_error("bm3d supports gray (H, W) / (H, W, 1) or colour (H, W, 3) images, got " +
                          std::to_string(in.channels) + " channels (shape " + shape_string(image) + ")");
  if (!std::isfinite(sigma) || sigma < 0)
    throw py::value_error("sigma must be finite and >= 0, got " + std::to_string(sigma));
  bm3d::Stages stages;
  if (stage == "both") stages = bm3d::Stages::both;
  else if (stage == "hard") stages = bm3d::Stages::hard;
  else throw py::value_error("stage must be 'both' or 'hard', got '" + stage + "'");

  const float sigma255 = static_cast<float>(sigma * 255.0 / white_level(in.dtype));
  bm3d::Params p = bm3d::default_params(sigma255);
  p.stages = stages;
  hard.apply(p.hard, "hard");
  wiener.apply(p.wiener, "wiener");
  if (lambda_3d) p.lambda_3d = static_cast<float>(*lambda_3d);
  if (mu2) p.mu2 = static_cast<float>(*mu2);
  bm3d::validate(p);

  std::vector<py::ssize_t> shape(image.shape(), image.shape() + image.ndim());
  py::array out(image.dtype(), shape);
  ImageView o;
  o.data = out.mutable_data();
  o.dtype = in.dtype;
  o.height = in.height;
  o.width = in.width;
  o.channels = in.channels;
  o.row_stride = in.width * in.channels;
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    bm3d::denoise(in, o, p, pool.get());
  }
  return out;
}

Float32Array as_float_array(const py::array& a, const char* what) {
  if (!py::isinstance<py::array_t<float>>(a) && a.dtype().kind() != 'f')
    throw py::type_error(std::string(what) + " must be a float array");
  return ensure_float32(a);
}

}  // namespace

void bind_bm3d(py::module_& m) {
  m.def(
      "bm3d",
      [](py::array image, double sigma, const std::string& stage, std::optional<int> block_size_hard,
         std::optional<int> step_hard, std::optional<int> search_window_hard,
         std::optional<int> max_blocks_hard, std::optional<double> tau_match_hard,
         std::optional<double> lambda_3d, std::optional<double> beta_hard,
         std::optional<std::string> transform_hard, std::optional<int> block_size_wiener,
         std::optional<int> step_wiener, std::optional<int> search_window_wiener,
         std::optional<int> max_blocks_wiener, std::optional<double> tau_match_wiener,
         std::optional<double> beta_wiener, std::optional<std::string> transform_wiener,
         std::optional<double> mu2) {
        StageArgs hard{block_size_hard, step_hard,  search_window_hard, max_blocks_hard,
                       tau_match_hard,  beta_hard,  transform_hard};
        StageArgs wiener{block_size_wiener, step_wiener,  search_window_wiener, max_blocks_wiener,
                         tau_match_wiener,  beta_wiener,  transform_wiener};
        return bm3d_py(image, sigma, stage, hard, wiener, lambda_3d, mu2);
      },
      "image"_a, py::kw_only(), "sigma"_a, "stage"_a = "both", "block_size_hard"_a = py::none(),
      "step_hard"_a = py::none(), "search_window_hard"_a = py::none(),
      "max_blocks_hard"_a = py::none(), "tau_match_hard"_a = py::none(),
      "lambda_3d"_a = py::none(), "beta_hard"_a = py::none(), "transform_hard"_a = py::none(),
      "block_size_wiener"_a = py::none(), "step_wiener"_a = py::none(),
      "search_window_wiener"_a = py::none(), "max_blocks_wiener"_a = py::none(),
      "tau_match_wiener"_a = py::none(), "beta_wiener"_a = py::none(),
      "transform_wiener"_a = py::none(), "mu2"_a = py::none(),
      R"doc(BM3D / CBM3D denoising of an HWC image (see imgen.denoise.bm3d).

image: (H, W), (H, W, 1) or (H, W, 3); uint8, uint16 or float32.
sigma: noise standard deviation in the image's units (0-255, 0-65535, 0-1).
Parameters left as None take the profile bm3d_profile(sigma on the 0-255 scale) gives.
Returns a new array of the input's shape and dtype.)doc");
  m.def(
      "bm3d_profile",
      [](double sigma255) {
        if (!std::isfinite(sigma255) || sigma255 < 0)
          throw py::value_error("sigma must be finite and >= 0");
        return params_dict(bm3d::default_params(static_cast<float>(sigma255)));
      },
      "sigma255"_a,
      "The default BM3D parameters for a noise level on the 0-255 scale, as a dict.");
  m.def("_bm3d_transform_matrix", [](const std::string& name, int n) {
    const bm3d::TransformMatrix tm = bm3d::make_transform(parse_transform(name, "transform"), n);
    py::array_t<float> f({n, n}), i({n, n});
    std::copy(tm.forward.begin(), tm.forward.end(), f.mutable_data());
    std::copy(tm.inverse.begin(), tm.inverse.end(), i.mutable_data());
    return py::make_tuple(f, i);
  }, "transform"_a, "n"_a);
  m.def("_bm3d_transform_2d", [](const py::array& blocks, const std::string& name, bool inverse) {
    py::array_t<float> b = as_float_array(blocks, "blocks");
    if (b.ndim() != 3 || b.shape(1) != b.shape(2))
      throw py::value_error("blocks must have shape (count, n, n)");
    py::array_t<float> out({b.shape(0), b.shape(1), b.shape(2)});
    bm3d::transform_blocks(parse_transform(name, "transform"), static_cast<int>(b.shape(1)),
                           inverse, b.data(), out.mutable_data(), b.shape(0));
    return out;
  }, "blocks"_a, "transform"_a, py::kw_only(), "inverse"_a = false);
  m.def("_bm3d_haar", [](const py::array& group, bool inverse) {
    py::array_t<float> g = as_float_array(group, "group");
    if (g.ndim() != 2) throw py::value_error("group must have shape (count, length)");
    py::array_t<float> out({g.shape(0), g.shape(1)});
    std::copy(g.data(), g.data() + g.size(), out.mutable_data());
    bm3d::haar_group(out.mutable_data(), static_cast<int>(g.shape(0)), static_cast<int>(g.shape(1)),
                     inverse);
    return out;
  }, "group"_a, py::kw_only(), "inverse"_a = false);
  m.def("_bm3d_simd_level", &bm3d::simd_level);
}

}  // namespace imgen::bindings
