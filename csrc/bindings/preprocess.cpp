// Bindings for to_tensor / from_tensor.
#include <pybind11/stl.h>

#include <vector>

#include "bindings/common.hpp"
#include "preprocess/convert.hpp"
#include "preprocess/yuv.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;

// Images of a to_tensor call: one array (2-D/3-D image or 4-D NHWC batch) or a sequence.
std::vector<py::array> collect_images(const py::object& images) {
  std::vector<py::array> out;
  if (py::isinstance<py::array>(images)) {
    py::array arr = images.cast<py::array>();
    if (arr.ndim() == 4) {
      for (py::ssize_t i = 0; i < arr.shape(0); ++i)
        out.push_back(arr[py::int_(i)].cast<py::array>());
      if (out.empty()) throw py::value_error("images: the batch is empty (shape (0, ...))");
    } else {
      out.push_back(arr);
    }
  } else if (py::isinstance<py::sequence>(images) && !py::isinstance<py::str>(images)) {
    for (auto item : images.cast<py::sequence>()) {
      if (!py::isinstance<py::array>(item))
        throw py::type_error("images: every item must be a numpy array, got " +
                             std::string(py::str(py::type::of(item).attr("__name__"))));
      out.push_back(item.cast<py::array>());
    }
    if (out.empty()) throw py::value_error("images: the list is empty");
  } else {
    throw py::type_error("images must be a numpy array (HWC image or NHWC batch) or a list of "
                         "arrays, got " +
                         std::string(py::str(py::type::of(images).attr("__name__"))));
  }
  return out;
}

// A (y, x, height, width) window argument; `what` ("region" or "crop") names it in messages.
// Values beyond int64 saturate (and then fail the callers' bound checks).
Region parse_region(const py::handle& obj, const std::string& what) {
  if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
    throw py::type_error(what + " must be a (y, x, height, width) tuple of ints, got " +
                         type_name(obj));
  const auto seq = py::reinterpret_borrow<py::sequence>(obj);
  if (seq.size() != 4)
    throw py::value_error(what + " must be (y, x, height, width), got " + short_repr(obj));
  static const char* const names[4] = {"y", "x", "height", "width"};
  int64_t v[4];
  for (size_t i = 0; i < 4; ++i) v[i] = int_arg(seq[i], what + " " + names[i]);
  if (v[2] <= 0 || v[3] <= 0)
    throw py::value_error(what + " height and width must be positive, got " + short_repr(obj));
  return Region{v[0], v[1], v[2], v[3]};
}

// Regions may reach outside the image (the kernel reflects), but their coordinates stay within
// +-2**62 so that y + row, x + column, -x and width - x never overflow int64 in the kernel.
constexpr int64_t kRegionBound = int64_t{1} << 62;

void check_region_bound(const Region& r, const py::handle& obj) {
  // Written so that nothing overflows: height, width >= 1, so kRegionBound - height > INT64_MIN.
  if (r.y < -kRegionBound || r.y > kRegionBound - r.height || r.x < -kRegionBound ||
      r.x > kRegionBound - r.width)
    throw py::value_error("region " + short_repr(obj) +
                          " reaches beyond the coordinate bound: y and y + height, x and x + width "
                          "must lie in [-2**62, 2**62] (pixels outside the image are reflected)");
}

py::array to_tensor_py(const py::object& images, const py::object& dtype, const py::object& scale,
                       const py::object& mean, const py::object& std, bool swap_rb,
                       const py::object& regions, const py::object& out) {
  std::vector<py::array> arrays = collect_images(images);
  std::vector<ImageView> views;
  for (size_t i = 0; i < arrays.size(); ++i)
    views.push_back(image_view(arrays[i], arrays.size() == 1 ? "image" : "images[" + std::to_string(i) + "]"));
  for (size_t i = 1; i < views.size(); ++i) {
    if (views[i].dtype != views[0].dtype || views[i].channels != views[0].channels ||
        (regions.is_none() && (views[i].height != views[0].height || views[i].width != views[0].width)))
      throw py::value_error("images must all have the same shape and dtype: images[0] is " +
                            shape_string(arrays[0]) + " " + dtype_name(views[0].dtype) +
                            ", images[" + std::to_string(i) + "] is " + shape_string(arrays[i]) +
                            " " + dtype_name(views[i].dtype));
  }
  std::vector<Region> regs;
  if (regions.is_none()) {
    for (const auto& v : views) regs.push_back(Region{0, 0, v.height, v.width});
  } else {
    if (!py::isinstance<py::sequence>(regions) || py::isinstance<py::str>(regions))
      throw py::type_error("regions must be a list of (y, x, height, width) tuples, got " +
                           type_name(regions));
    for (auto r : py::reinterpret_borrow<py::sequence>(regions)) {
      regs.push_back(parse_region(r, "region"));
      check_region_bound(regs.back(), r);
    }
    if (regs.empty()) throw py::value_error("regions is empty");
    for (const auto& r : regs)
      if (r.height != regs[0].height || r.width != regs[0].width)
        throw py::value_error("regions must all have the same height and width");
    if (views.size() == 1 && regs.size() > 1) {
      views.resize(regs.size(), views[0]);
    } else if (views.size() != regs.size()) {
      throw py::value_error("got " + std::to_string(views.size()) + " images but " +
                            std::to_string(regs.size()) + " regions");
    }
  }
  const int64_t n = static_cast<int64_t>(views.size()), c = views[0].channels;
  const int64_t h = regs[0].height, w = regs[0].width;

  py::dtype out_dt = parse_dtype(dtype);
  DType t;
  if (!to_dtype(out_dt, &t) || (t != DType::f32 && t != DType::f16))
    throw py::type_error("to_tensor: dtype must be float32 or float16, got " +
                         std::string(py::str(out_dt)));
  int64_t bytes;
  if (__builtin_mul_overflow(n, c, &bytes) || __builtin_mul_overflow(bytes, h, &bytes) ||
      __builtin_mul_overflow(bytes, w, &bytes) ||
      __builtin_mul_overflow(bytes, static_cast<int64_t>(dtype_size(t)), &bytes))
    throw py::value_error("to_tensor: " + std::to_string(n) + " region(s) of " + std::to_string(h) +
                          "x" + std::to_string(w) + " with " + std::to_string(c) +
                          " channel(s) make a tensor too large to address: its size overflows");
  py::array result;
  if (out.is_none()) {
    result = py::array(out_dt, std::vector<py::ssize_t>{n, c, h, w});  // MemoryError
  } else {
    result = out.cast<py::array>();
    DType ot;
    if (!to_dtype(result.dtype(), &ot) || ot != t || result.ndim() != 4 ||
        result.shape(0) != n || result.shape(1) != c || result.shape(2) != h ||
        result.shape(3) != w || !(result.flags() & py::array::c_style) || !result.writeable())
      throw py::value_error("out must be a writable C-contiguous " + std::string(dtype_name(t)) +
                            " array of shape (" + std::to_string(n) + ", " + std::to_string(c) +
                            ", " + std::to_string(h) + ", " + std::to_string(w) + "), got " +
                            shape_string(result) + " " + std::string(py::str(result.dtype())));
  }
  TensorView dst{result.mutable_data(), t, n, c, h, w};
  Normalize norm = make_normalize(scale, mean, std, swap_rb, c, views[0].dtype);
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    to_tensor(views.data(), regs.data(), n, dst, norm, pool.get());
  }
  return result;
}

py::array from_tensor_py(const py::array& tensor_in, const py::object& dtype,
                         const py::object& scale, const py::object& mean, const py::object& std,
                         bool swap_rb, const py::object& clamp, const py::object& crop,
                         const py::object& out) {
  py::array tensor = tensor_in;
  DType tt;
  if (!to_dtype(tensor.dtype(), &tt) || (tt != DType::f32 && tt != DType::f16))
    throw py::type_error("tensor must be float32 or float16, got " +
                         std::string(py::str(tensor.dtype())));
  if (tensor.ndim() != 3 && tensor.ndim() != 4)
    throw py::value_error("tensor must be NCHW (4-D) or CHW (3-D), got shape " +
                          shape_string(tensor));
  const bool batched = tensor.ndim() == 4;
  tensor = ensure_array(tensor, py::array::c_style);
  const int64_t n = batched ? tensor.shape(0) : 1;
  const int64_t c = tensor.shape(batched ? 1 : 0);
  const int64_t th = tensor.shape(batched ? 2 : 1), tw = tensor.shape(batched ? 3 : 2);
  if (c != 1 && c != 3 && c != 4)
    throw py::value_error("tensor must have 1, 3 or 4 channels, got " + std::to_string(c) +
                          " (shape " + shape_string(tensor) + ")");
  if (n == 0 || th == 0 || tw == 0)
    throw py::value_error("tensor is empty (shape " + shape_string(tensor) + ")");
  Region window{0, 0, th, tw};
  if (!crop.is_none()) {
    window = parse_region(crop, "crop");
    // y > th - height rather than y + height > th: the sum overflows for y near 2**63.
    if (window.y < 0 || window.x < 0 || window.y > th - window.height ||
        window.x > tw - window.width)
      throw py::value_error("crop " + short_repr(crop) + " must lie inside the tensor's " +
                            std::to_string(th) + "x" + std::to_string(tw) +
                            " plane: 0 <= y, y + height <= " + std::to_string(th) +
                            ", 0 <= x, x + width <= " + std::to_string(tw));
  }
  py::dtype out_dt = parse_dtype(dtype);
  DType ot;
  if (!to_dtype(out_dt, &ot) || ot == DType::f16)
    throw py::type_error("from_tensor: dtype must be uint8, uint16 or float32, got " +
                         std::string(py::str(out_dt)));
  std::vector<py::ssize_t> shape;
  if (batched) shape.push_back(n);
  shape.insert(shape.end(), {window.height, window.width, c});
  py::array result;
  if (out.is_none()) {
    result = py::array(out_dt, shape);
  } else {
    result = out.cast<py::array>();
    DType rt;
    bool ok = to_dtype(result.dtype(), &rt) && rt == ot && result.ndim() == static_cast<py::ssize_t>(shape.size()) &&
              (result.flags() & py::array::c_style) && result.writeable();
    for (size_t i = 0; ok && i < shape.size(); ++i) ok = result.shape(i) == shape[i];
    if (!ok) throw py::value_error("out must be a writable C-contiguous array of the result's shape and dtype");
  }
  std::vector<ImageView> dsts;
  const size_t item = dtype_size(ot);
  for (int64_t i = 0; i < n; ++i) {
    ImageView v;
    v.data = static_cast<char*>(result.mutable_data()) + i * window.height * window.width * c * item;
    v.dtype = ot;
    v.height = window.height;
    v.width = window.width;
    v.channels = c;
    v.row_stride = window.width * c;
    dsts.push_back(v);
  }
  TensorView src{const_cast<void*>(tensor.data()), tt, n, c, th, tw};
  Normalize norm = make_normalize(scale, mean, std, swap_rb, c, ot);
  const bool do_clamp = clamp.is_none() ? false : clamp.cast<bool>();
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    from_tensor(src, window.y, window.x, dsts.data(), n, norm, do_clamp, pool.get());
  }
  return result;
}

// A 2-D uint8 plane argument (rows may be padded: row stride >= width * elem); checked to be
// height x width elements of `elem` bytes each, the last axis contiguous.
struct Plane {
  uint8_t* data;
  int64_t stride;
};

Plane plane_arg(const py::object& obj, const std::string& what, int64_t height, int64_t width, int64_t elem,
                bool writable) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(what + " must be a numpy uint8 array, got " + type_name(obj));
  py::array a = obj.cast<py::array>();
  DType t;
  if (!to_dtype(a.dtype(), &t) || t != DType::u8)
    throw py::type_error(what + " must be uint8, got " + std::string(py::str(a.dtype())));
  const int64_t want_w = width * elem;
  if (a.ndim() != 2 || a.shape(0) != height || a.shape(1) != want_w)
    throw py::value_error(what + " must have shape (" + std::to_string(height) + ", " + std::to_string(want_w) +
                          "), got " + shape_string(a));
  if (a.strides(1) != 1 || a.strides(0) < want_w)
    throw py::value_error(what + " must have contiguous rows (strides (>= " + std::to_string(want_w) + ", 1))");
  if (writable && !a.writeable()) throw py::value_error(what + " must be writable");
  return Plane{static_cast<uint8_t*>(const_cast<void*>(a.data())), static_cast<int64_t>(a.strides(0))};
}

YuvMatrix matrix_arg(double kr, double kb, bool full_range) {
  if (!(kr > 0 && kb > 0 && kr + kb < 1))
    throw py::value_error("kr and kb must be positive luma weights with kr + kb < 1 (BT.601: 0.299, 0.114; "
                          "BT.709: 0.2126, 0.0722), got " + std::to_string(kr) + ", " + std::to_string(kb));
  return YuvMatrix{kr, kb, full_range};
}

// y, u, v planes of a 4:2:0 frame height x width; v None = nv12 (u holds interleaved UV).
Yuv420View yuv_planes(const py::object& y, const py::object& u, const py::object& v, bool writable) {
  if (!py::isinstance<py::array>(y)) throw py::type_error("y must be a numpy uint8 array, got " + type_name(y));
  py::array ya = y.cast<py::array>();
  if (ya.ndim() != 2 || ya.shape(0) < 1 || ya.shape(1) < 1)
    throw py::value_error("y must be a non-empty (height, width) plane, got " + shape_string(ya));
  const int64_t h = ya.shape(0), w = ya.shape(1), ch = (h + 1) / 2, cw = (w + 1) / 2;
  Yuv420View view;
  const Plane py_ = plane_arg(y, "y", h, w, 1, writable);
  view.y = py_.data;
  view.y_stride = py_.stride;
  view.height = h;
  view.width = w;
  if (v.is_none()) {
    const Plane uv = plane_arg(u, "uv (nv12: v=None)", ch, cw, 2, writable);
    view.u = uv.data;
    view.v = uv.data + 1;
    view.c_stride = uv.stride;
    view.chroma_step = 2;
  } else {
    const Plane pu = plane_arg(u, "u", ch, cw, 1, writable);
    const Plane pv = plane_arg(v, "v", ch, cw, 1, writable);
    if (pu.stride != pv.stride) throw py::value_error("u and v must have the same row stride");
    view.u = pu.data;
    view.v = pv.data;
    view.c_stride = pu.stride;
    view.chroma_step = 1;
  }
  return view;
}

py::array rgb_array(const py::object& obj, int64_t h, int64_t w, bool writable, const std::string& what) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(what + " must be a numpy uint8 (H, W, 3) array, got " + type_name(obj));
  py::array a = obj.cast<py::array>();
  DType t;
  if (!to_dtype(a.dtype(), &t) || t != DType::u8)
    throw py::type_error(what + " must be uint8, got " + std::string(py::str(a.dtype())));
  if (a.ndim() != 3 || a.shape(2) != 3 || (h >= 0 && (a.shape(0) != h || a.shape(1) != w)))
    throw py::value_error(what + " must have shape " +
                          (h >= 0 ? "(" + std::to_string(h) + ", " + std::to_string(w) + ", 3)" : std::string("(H, W, 3)")) +
                          ", got " + shape_string(a));
  if (a.strides(2) != 1 || a.strides(1) != 3 || a.strides(0) < 3 * a.shape(1))
    throw py::value_error(what + " must have contiguous RGB rows (strides (>= 3 * width, 3, 1))");
  if (writable && !a.writeable()) throw py::value_error(what + " must be writable");
  return a;
}

void rgb_to_yuv420_py(const py::object& rgb, const py::object& y, const py::object& u, const py::object& v,
                      double kr, double kb, bool full_range) {
  const Yuv420View dst = yuv_planes(y, u, v, true);
  py::array a = rgb_array(rgb, dst.height, dst.width, false, "rgb");
  const YuvMatrix m = matrix_arg(kr, kb, full_range);
  auto pool = current_pool();
  py::gil_scoped_release release;
  rgb_to_yuv420(static_cast<const uint8_t*>(a.data()), a.strides(0), dst, m, pool.get());
}

py::array yuv420_to_rgb_py(const py::object& y, const py::object& u, const py::object& v, double kr, double kb,
                           bool full_range, bool cosited, const py::object& out) {
  const Yuv420View src = yuv_planes(y, u, v, false);
  const YuvMatrix m = matrix_arg(kr, kb, full_range);
  py::array result = out.is_none() ? py::array(py::dtype("uint8"), std::vector<py::ssize_t>{src.height, src.width, 3})
                                   : rgb_array(out, src.height, src.width, true, "out");
  auto pool = current_pool();
  {
    py::gil_scoped_release release;
    yuv420_to_rgb(src, static_cast<uint8_t*>(result.mutable_data()), result.strides(0), m, cosited, pool.get());
  }
  return result;
}

}  // namespace

void bind_preprocess(py::module_& m) {
  m.def("to_tensor", &to_tensor_py, "images"_a, py::kw_only(), "dtype"_a = "float32",
        "scale"_a = py::none(), "mean"_a = py::none(), "std"_a = py::none(), "swap_rb"_a = false,
        "regions"_a = py::none(), "out"_a = py::none(),
        R"doc(Convert HWC images to a planar NCHW float tensor.

images: one image (H, W) or (H, W, C), an NHWC batch, or a list of same-shape images;
    uint8, uint16 or float32; C in {1, 3, 4}.  A single image gets a batch axis of 1.
dtype: float32 or float16 output.
tensor = (pixel * scale - mean[c]) / std[c]; scale defaults to 1/255 (uint8), 1/65535 (uint16),
    1 (float32); mean/std are numbers or one value per tensor channel.
swap_rb: swap channels 0 and 2 (BGR <-> RGB; alpha stays last).
regions: (y, x, height, width) windows, one tensor item each, all the same size; pixels outside
    the image are reflected (BORDER_REFLECT_101), but y, y + height, x and x + width must lie in
    [-2**62, 2**62].  With one image, every region reads from it.
out: optional preallocated C-contiguous (N, C, H, W) array to write into.
Returns the (N, C, H, W) array.  Raises TypeError/ValueError naming what was expected.)doc");
  m.def("from_tensor", &from_tensor_py, "tensor"_a, py::kw_only(), "dtype"_a = "uint8",
        "scale"_a = py::none(), "mean"_a = py::none(), "std"_a = py::none(), "swap_rb"_a = false,
        "clamp"_a = py::none(), "crop"_a = py::none(), "out"_a = py::none(),
        R"doc(Convert a planar NCHW (or CHW) float32/float16 tensor to HWC images.

pixel = (tensor * std[c] + mean[c]) / scale, the inverse of to_tensor with the same arguments
(scale defaults by the *output* dtype: 1/255 uint8, 1/65535 uint16, 1 float32).
uint8/uint16 outputs are rounded half to even and clamped to the type's range (NaN -> 0);
float32 outputs are clamped to [0, 1] (the image range, whatever scale/mean/std were) only
with clamp=True (NaN -> 0 then).
crop: optional (y, x, height, width) window of the tensor plane to convert.
Returns (N, H, W, C) for a 4-D tensor, (H, W, C) for a 3-D one.)doc");
  m.def("rgb_to_yuv420", &rgb_to_yuv420_py, "rgb"_a, "y"_a, "u"_a, "v"_a = py::none(), py::kw_only(),
        "kr"_a = 0.299, "kb"_a = 0.114, "full_range"_a = false,
        R"doc(Convert an RGB24 image into the planes of an 8-bit 4:2:0 frame (in place, no copy).

rgb: (H, W, 3) uint8.  y: (H, W) uint8; u, v: (ceil(H/2), ceil(W/2)) uint8 (yuv420p), or
v=None and u the (ceil(H/2), 2*ceil(W/2)) interleaved UV plane (nv12).  Rows may be padded
(a PyAV plane viewed as an array).  kr, kb: the matrix's luma weights (BT.601 0.299/0.114,
BT.709 0.2126/0.0722); full_range: 0-255 instead of 16-235/16-240.  Chroma is filtered as
libswscale's default (within one level of it).  Runs on imgen's threads without the GIL.)doc");
  m.def("yuv420_to_rgb", &yuv420_to_rgb_py, "y"_a, "u"_a, "v"_a = py::none(), py::kw_only(), "kr"_a = 0.299,
        "kb"_a = 0.114, "full_range"_a = false, "cosited"_a = false, "out"_a = py::none(),
        R"doc(Convert the planes of an 8-bit 4:2:0 frame to an (H, W, 3) uint8 RGB24 image.

Planes as rgb_to_yuv420's (v=None: nv12).  Chroma is upsampled bilinearly from centred sites, or
horizontally co-sited (left) ones with cosited=True (H.264/MPEG-2 frames), as libswscale with
ACCURATE_RND | FULL_CHR_H_INT (within one level of it).  out: optional
writable (H, W, 3) uint8 array with contiguous rows.  Runs on imgen's threads without the GIL.)doc");
  m.def("simd_level", &convert_simd_level,
        "The SIMD level the pixel kernels use on this CPU: 'avx2' or 'baseline'.");
}

}  // namespace imgen::bindings
