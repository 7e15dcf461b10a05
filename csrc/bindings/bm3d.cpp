// Bindings for BM3D denoising (csrc/bm3d).
#include <pybind11/stl.h>

#include <map>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "bm3d/bm3d.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;

bm3d::Transform2D parse_transform(const std::string& name, const std::string& what) {
  if (name == "bior1.5") return bm3d::Transform2D::bior15;
  if (name == "dct") return bm3d::Transform2D::dct;
  throw py::value_error(what + " must be 'bior1.5' or 'dct', got '" + name + "'");
}

std::string str_arg(const py::handle& obj, const std::string& name, const std::string& choices) {
  if (!py::isinstance<py::str>(obj))
    throw py::type_error(name + " must be " + choices + ", got " + type_name(obj));
  return obj.cast<std::string>();
}

// The tuning parameters of bm3d(), read by name from `params` (an imgen.denoise.Bm3dParams: the
// attribute names are its field names; None keeps the profile's value).  This is the one place
// the names meet the C++ struct.  The values are converted here (TypeError naming the field) and
// range-checked by bm3d::validate only, which quotes them as written (`given`): a Python int
// beyond int64 or a float beyond the double range is stored saturated, so its own text is shown.
struct Bm3dArgs {
  py::object params;  // None: the profile as it is
  std::map<std::string, std::string> given;

  py::object get(const std::string& name) const {
    if (params.is_none()) return py::none();
    if (!py::hasattr(params, name.c_str()))
      throw py::type_error("params must be an imgen.denoise.Bm3dParams or None, got " +
                           type_name(params) + " (no attribute " + name + ")");
    return params.attr(name.c_str());
  }
  void set_int(const std::string& name, int64_t& field) {
    const py::object obj = get(name);
    if (obj.is_none()) return;
    field = int_arg(obj, name);
    given[name] = short_repr(obj);
  }
  void set_float(const std::string& name, double& field) {
    const py::object obj = get(name);
    if (obj.is_none()) return;
    field = float_arg(obj, name);
    given[name] = short_repr(obj);
  }
  void set_transform(const std::string& name, bm3d::Transform2D& field) {
    const py::object obj = get(name);
    if (obj.is_none()) return;
    field = parse_transform(str_arg(obj, name, "'bior1.5' or 'dct'"), name);
  }
  void apply(bm3d::StageParams& s, const std::string& stage) {
    const auto k = [&stage](const char* field) { return std::string(field) + "_" + stage; };
    set_int(k("block_size"), s.block_size);
    set_int(k("step"), s.step);
    set_int(k("search_window"), s.search_window);
    set_int(k("max_blocks"), s.max_blocks);
    set_float(k("tau_match"), s.tau_match);
    set_float(k("beta"), s.beta);
    set_transform(k("transform"), s.transform);
  }
  void apply(bm3d::Params& p) {
    apply(p.hard, "hard");
    set_float("lambda_3d", p.lambda_3d);
    apply(p.wiener, "wiener");
    set_float("mu2", p.mu2);
  }
};

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

py::array bm3d_py(py::array image, const py::object& sigma_obj, const py::object& stage_obj,
                  const py::object& params, const py::object& pilot_obj) {
  py::array src = image;
  ImageView in = image_view(src, "image");
  if (in.channels != 1 && in.channels != 3)
    throw py::value_error("bm3d supports gray (H, W) / (H, W, 1) or colour (H, W, 3) images, got " +
                          std::to_string(in.channels) + " channels (shape " + shape_string(image) + ")");
  const std::string stage = str_arg(stage_obj, "stage", "'both', 'hard' or 'wiener'");
  bm3d::Stages stages;
  if (stage == "both") stages = bm3d::Stages::both;
  else if (stage == "hard") stages = bm3d::Stages::hard;
  else if (stage == "wiener") stages = bm3d::Stages::wiener;
  else throw py::value_error("stage must be 'both', 'hard' or 'wiener', got '" + stage + "'");
  // The pilot: required by stage 'wiener' (and only there), an image of the same shape.
  py::array pilot_arr;
  ImageView pv;
  if (stages == bm3d::Stages::wiener) {
    if (pilot_obj.is_none())
      throw py::value_error("stage 'wiener' needs pilot= (a basic estimate of the image's shape)");
    if (!py::isinstance<py::array>(pilot_obj))
      throw py::type_error("pilot must be a numpy array, got " + type_name(pilot_obj));
    pilot_arr = py::reinterpret_borrow<py::array>(pilot_obj);
    if (pilot_arr.ndim() != image.ndim() ||
        !std::equal(image.shape(), image.shape() + image.ndim(), pilot_arr.shape()))
      throw py::value_error("pilot must have the image's shape " + shape_string(image) + ", got " +
                            shape_string(pilot_arr));
    pv = image_view(pilot_arr, "pilot");
  } else if (!pilot_obj.is_none()) {
    throw py::value_error("pilot is only used by stage='wiener', got stage='" + stage + "'");
  }

  // sigma: a fraction of the full range, as the kernel takes it; validate() reports it as given.
  const double sigma = float_arg(sigma_obj, "sigma");
  Bm3dArgs args{params, {{"sigma", short_repr(sigma_obj)}}};
  bm3d::Params p = bm3d::default_params(sigma);
  p.stages = stages;
  args.apply(p);
  bm3d::validate(p, &args.given);

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
    bm3d::denoise(in, o, p, pool.get(), stages == bm3d::Stages::wiener ? &pv : nullptr);
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
  // Every argument but the image is taken as a Python object and converted in bm3d_py: a failed
  // conversion by pybind11 would raise a TypeError that prints the whole image.
  m.def("bm3d", &bm3d_py, "image"_a, py::kw_only(), "sigma"_a, "stage"_a = "both",
        "params"_a = py::none(), "pilot"_a = py::none(),
        R"doc(BM3D / CBM3D denoising of an HWC image (see imgen.denoise.bm3d).

image: (H, W), (H, W, 1) or (H, W, 3); uint8, uint16 or float32.
sigma: noise standard deviation as a fraction of the full range, in [0, 1], whatever the dtype
    (25 on the 0-255 scale is 25/255).
stage: 'both', 'hard' or 'wiener' (the Wiener stage alone, on the given pilot).
pilot: stage 'wiener' only (required there): a basic estimate of the image's shape, any of the
    image dtypes, in its own dtype's units.
params: an imgen.denoise.Bm3dParams (its fields read by name) or None; fields left as None take
    the profile bm3d_profile(sigma) gives.
Ranges: block_size 2..16, step 1..block_size, search_window odd in 1..255, max_blocks a power
of two in 1..64, tau_match [0, 1e30], beta [0, 50], lambda_3d [0, 1000], mu2 [0, 1e6]; bior1.5
needs 8x8 blocks.  Raises TypeError / ValueError naming the parameter and its range.
Returns a new array of the input's shape and dtype.)doc");
  m.def(
      "bm3d_profile",
      [](const py::object& obj) {
        const double sigma = float_arg(obj, "sigma");
        bm3d::Params p = bm3d::default_params(sigma);
        const std::map<std::string, std::string> given{{"sigma", short_repr(obj)}};
        bm3d::validate(p, &given);
        return params_dict(p);
      },
      "sigma"_a,
      "The default BM3D parameters for a noise level (a fraction of the full range), as a dict.");
  m.def("_bm3d_transform_matrix", [](const std::string& name, int n) {
    if (n < 2 || n > 16) throw py::value_error("n must be in 2..16, got " + std::to_string(n));
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
