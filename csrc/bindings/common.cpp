#include "bindings/common.hpp"

#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <vector>

namespace imgen::bindings {

std::shared_ptr<ThreadPool> current_pool() {
  return py::module_::import("imgen._core").attr("_pool").cast<std::shared_ptr<ThreadPool>>();
}

bool to_dtype(const py::dtype& dt, DType* out) {
  if (dt.is(py::dtype::of<uint8_t>()) || dt.equal(py::dtype::of<uint8_t>())) *out = DType::u8;
  else if (dt.equal(py::dtype::of<uint16_t>())) *out = DType::u16;
  else if (dt.equal(py::dtype::of<float>())) *out = DType::f32;
  else if (dt.equal(py::dtype("float16"))) *out = DType::f16;
  else return false;
  return true;
}

py::dtype parse_dtype(const py::object& obj) {
  try {
    return py::dtype::from_args(obj);
  } catch (py::error_already_set&) {
    throw py::type_error("unknown dtype " + std::string(py::str(obj)));
  }
}

std::string shape_string(const py::array& arr) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) s << (i ? ", " : "") << arr.shape(i);
  s << (arr.ndim() == 1 ? ",)" : ")");
  return s.str();
}

py::array ensure_array(const py::handle& h, int flags) {
  if (!h) throw py::value_error("expected an array, got a null handle");
  PyObject* r = py::detail::npy_api::get().PyArray_FromAny_(
      h.ptr(), nullptr, 0, 0, py::detail::npy_api::NPY_ARRAY_ENSUREARRAY_ | flags, nullptr);
  if (!r) throw py::error_already_set();
  return py::reinterpret_steal<py::array>(r);
}

Float32Array ensure_float32(const py::handle& h) {
  // array_t's converting constructor throws error_already_set where array_t::ensure returns null.
  return Float32Array(py::reinterpret_borrow<py::object>(h));
}

std::string type_name(const py::handle& obj) {
  return py::str(py::type::of(obj).attr("__name__"));
}

std::string short_repr(const py::handle& obj) {
  std::string s = py::str(obj);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

int64_t int_arg(const py::handle& obj, const std::string& name) {
  if (py::isinstance<py::bool_>(obj) || py::isinstance<py::float_>(obj) ||
      !(py::isinstance<py::int_>(obj) || py::hasattr(obj, "__index__")))
    throw py::type_error(name + " must be an int, got " + type_name(obj));
  const py::int_ v = py::reinterpret_steal<py::int_>(PyNumber_Index(obj.ptr()));
  if (!v) throw py::error_already_set();
  int overflow = 0;
  const long long r = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (overflow > 0) return std::numeric_limits<int64_t>::max();
  if (overflow < 0) return std::numeric_limits<int64_t>::min();
  if (r == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<int64_t>(r);
}

double float_arg(const py::handle& obj, const std::string& name) {
  if (py::isinstance<py::bool_>(obj) ||
      !(py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj) ||
        py::hasattr(obj, "__float__") || py::hasattr(obj, "__index__")))
    throw py::type_error(name + " must be a number, got " + type_name(obj));
  const double v = PyFloat_AsDouble(obj.ptr());
  if (v == -1.0 && PyErr_Occurred()) {
    if (!PyErr_ExceptionMatches(PyExc_OverflowError)) throw py::error_already_set();
    PyErr_Clear();  // an int beyond the double range
    return py::int_(py::reinterpret_borrow<py::object>(obj)) < py::int_(0)
               ? -std::numeric_limits<double>::infinity()
               : std::numeric_limits<double>::infinity();
  }
  return v;
}

ImageView image_view(py::array& arr, const std::string& what, bool writable) {
  DType dt;
  if (!to_dtype(arr.dtype(), &dt) || dt == DType::f16)
    throw py::type_error(what + " must be uint8, uint16 or float32, got " +
                         std::string(py::str(arr.dtype())));
  if (arr.ndim() != 2 && arr.ndim() != 3)
    throw py::value_error(what + " must be an HWC image of shape (H, W) or (H, W, C), got shape " +
                          shape_string(arr));
  const int64_t c = arr.ndim() == 3 ? arr.shape(2) : 1;
  if (c != 1 && c != 3 && c != 4)
    throw py::value_error(what + " must have 1, 3 or 4 channels (gray, RGB/BGR, RGBA), got " +
                          std::to_string(c) + " (shape " + shape_string(arr) + ")");
  if (arr.shape(0) == 0 || arr.shape(1) == 0)
    throw py::value_error(what + " is empty (shape " + shape_string(arr) + ")");
  const auto item = static_cast<py::ssize_t>(dtype_size(dt));
  const bool pixels_contiguous = (arr.ndim() == 2 || arr.strides(2) == item || c == 1) &&
                                 arr.strides(1) == c * item;
  const bool rows_ok = arr.strides(0) > 0 && arr.strides(0) % item == 0 &&
                       arr.strides(0) >= arr.shape(1) * c * item;
  if (!pixels_contiguous || !rows_ok) {
    if (writable) throw py::value_error(what + " must be C-contiguous");
    arr = ensure_array(arr, py::array::c_style);
  }
  if (writable && !arr.writeable()) throw py::value_error(what + " is read-only");
  ImageView v;
  v.data = writable ? arr.mutable_data() : const_cast<void*>(arr.data());
  v.dtype = dt;
  v.height = arr.shape(0);
  v.width = arr.shape(1);
  v.channels = c;
  v.row_stride = arr.strides(0) / item;
  return v;
}

float default_scale(DType t) {
  switch (t) {
    case DType::u8: return 1.0f / 255.0f;
    case DType::u16: return 1.0f / 65535.0f;
    default: return 1.0f;
  }
}

namespace {

void per_channel(const py::object& obj, int64_t channels, const char* name, float fill,
                 float* out) {
  for (int i = 0; i < 4; ++i) out[i] = fill;
  if (obj.is_none()) return;
  std::vector<double> values;
  if (py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj)) {
    values.assign(static_cast<size_t>(channels), obj.cast<double>());
  } else {
    try {
      values = obj.cast<std::vector<double>>();
    } catch (py::cast_error&) {
      throw py::type_error(std::string(name) + " must be a number or a sequence of numbers");
    }
    if (static_cast<int64_t>(values.size()) != channels)
      throw py::value_error(std::string(name) + " needs " + std::to_string(channels) +
                            " values (one per channel), got " + std::to_string(values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]))
      throw py::value_error(std::string(name) + " must be finite");
    out[i] = static_cast<float>(values[i]);
  }
}

}  // namespace

Normalize make_normalize(const py::object& scale, const py::object& mean, const py::object& std,
                         bool swap_rb, int64_t channels, DType image_dtype) {
  Normalize n;
  n.scale = scale.is_none() ? default_scale(image_dtype) : scale.cast<float>();
  if (!std::isfinite(n.scale) || n.scale == 0.0f)
    throw py::value_error("scale must be finite and non-zero");
  per_channel(mean, channels, "mean", 0.0f, n.mean);
  per_channel(std, channels, "std", 1.0f, n.std);
  for (int64_t i = 0; i < channels; ++i)
    if (n.std[i] == 0.0f) throw py::value_error("std must be non-zero");
  n.swap_rb = swap_rb;
  return n;
}

}  // namespace imgen::bindings
