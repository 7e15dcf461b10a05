// imgen._core: the module definition.  One bind_* function per area, each in its own file.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <string>

#include "bindings/common.hpp"
#include "common/thread_pool.hpp"

namespace py = pybind11;

namespace imgen::bindings {
void bind_preprocess(py::module_& m);
void bind_tiling(py::module_& m);
void bind_metrics(py::module_& m);
void bind_bm3d(py::module_& m);
void bind_wavelet(py::module_& m);
void bind_inpaint(py::module_& m);
}  // namespace imgen::bindings

PYBIND11_MODULE(_core, m) {
  using namespace pybind11::literals;
  using imgen::ThreadPool;
  m.doc() = "imgen's C++ core: pixel layout conversion, tiling, metrics and classical denoisers.";

  py::class_<ThreadPool, std::shared_ptr<ThreadPool>>(m, "ThreadPool")
      .def_property_readonly("size", &ThreadPool::size);
  // The pool lives in the module's namespace (no C++ global); kernels look it up per call and
  // hold a reference while they run, so replacing it never pulls it from under a running kernel.
  m.attr("_pool") = std::make_shared<ThreadPool>(0);
  m.attr("MAX_THREADS") = ThreadPool::kMaxThreads;
  m.def(
      "set_num_threads",
      [](const py::object& obj) {
        const int64_t n = imgen::bindings::int_arg(obj, "number of threads");
        if (n < 0) throw py::value_error("number of threads must be >= 0 (0 = all cores)");
        if (n > ThreadPool::kMaxThreads)
          throw py::value_error("number of threads must be at most " +
                                std::to_string(ThreadPool::kMaxThreads) + " (got " +
                                imgen::bindings::short_repr(obj) + "; 0 = all cores)");
        // The new pool is made before the old one is replaced: if its threads cannot all be
        // started, it throws (RuntimeError) and the old pool stays in use.
        py::module_::import("imgen._core").attr("_pool") =
            std::make_shared<ThreadPool>(static_cast<int>(n));
      },
      "n"_a,
      "Set the number of threads the C++ kernels use (0 = all available cores; at most 1024).");
  m.def(
      "get_num_threads",
      []() {
        return py::module_::import("imgen._core")
            .attr("_pool")
            .cast<std::shared_ptr<ThreadPool>>()
            ->size();
      },
      "The number of threads the C++ kernels use.");
  m.def("available_cores", &ThreadPool::available_cores,
        "Cores this process may run on (CPU affinity).");

  imgen::bindings::bind_preprocess(m);
  imgen::bindings::bind_tiling(m);
  imgen::bindings::bind_metrics(m);
  imgen::bindings::bind_bm3d(m);
  imgen::bindings::bind_wavelet(m);
  imgen::bindings::bind_inpaint(m);
}
