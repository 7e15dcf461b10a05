// Helpers shared by the binding files: argument validation and numpy <-> view conversion.
// Everything the kernels receive has been checked here, at the boundary.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "common/image.hpp"
#include "common/thread_pool.hpp"
#include "preprocess/convert.hpp"

namespace imgen::bindings {

namespace py = pybind11;

// The pool kernels run on: the module attribute imgen._core._pool (see set_num_threads).
std::shared_ptr<ThreadPool> current_pool();

// numpy dtype -> DType, or nullopt-like false when unsupported.
bool to_dtype(const py::dtype& dt, DType* out);

// Parses a dtype argument (a numpy dtype, a type such as numpy.uint8, or a name).
py::dtype parse_dtype(const py::object& obj);

// A view of an HWC image array: (H, W) or (H, W, C), C in {1, 3, 4}, dtype uint8/uint16/float32.
// Arrays whose pixels are not contiguous within a row are copied (into `arr`); row-strided views
// such as crops are taken as they are.  `what` names the argument in error messages.
ImageView image_view(py::array& arr, const std::string& what, bool writable = false);

// Default tensor = pixel * scale factor for an image dtype: 1/255, 1/65535 or 1.
float default_scale(DType image_dtype);

// Builds a Normalize from optional Python arguments (floats or per-channel sequences).
Normalize make_normalize(const py::object& scale, const py::object& mean, const py::object& std,
                         bool swap_rb, int64_t channels, DType image_dtype);

std::string shape_string(const py::array& arr);

// py::array::ensure(h, flags) that never returns null: py::array::ensure clears the Python error
// of a failed conversion and returns an empty handle, which then crashes on first use.  This
// throws py::error_already_set instead, so the MemoryError of a copy that cannot be allocated
// (or the TypeError of an unconvertible object) reaches Python.
py::array ensure_array(const py::handle& h, int flags = 0);

// The same for a C-contiguous float32 array (converting other dtypes, as array_t::ensure does).
using Float32Array = py::array_t<float, py::array::c_style | py::array::forcecast>;
Float32Array ensure_float32(const py::handle& h);

// str(obj), cut to at most 40 characters: the value as the caller wrote it, for error messages.
std::string short_repr(const py::handle& obj);

// An int argument: a Python int or anything with __index__ (numpy integers), not a bool.
// Values beyond int64 saturate to INT64_MIN/INT64_MAX (every range check rejects them; messages
// quote short_repr(obj)).  Throws TypeError("<name> must be an int, got <type>").
int64_t int_arg(const py::handle& obj, const std::string& name);

// A float argument: a Python int or float, or anything with __float__ / __index__, not a bool.
// An int too large for a double becomes +-inf.  Throws TypeError("<name> must be a number, ...").
double float_arg(const py::handle& obj, const std::string& name);

// The name of obj's type, for messages.
std::string type_name(const py::handle& obj);

}  // namespace imgen::bindings
