// Bindings for the tile grid and the blending merger.
#include <pybind11/stl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bindings/common.hpp"
#include "preprocess/tiling.hpp"

namespace imgen::bindings {

namespace {

using namespace pybind11::literals;

struct TileGrid {
  std::vector<int64_t> row_starts, col_starts;
  int64_t tile_height = 0, tile_width = 0;

  std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>> regions() const {
    std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>> out;
    for (int64_t y : row_starts)
      for (int64_t x : col_starts) out.emplace_back(y, x, tile_height, tile_width);
    return out;
  }
};

TileGrid plan_tiles(int64_t height, int64_t width, const py::object& tile, int64_t overlap,
                    int64_t multiple) {
  int64_t tile_h, tile_w;
  // int_arg saturates values beyond int64; such a tile is refused quoting the caller's value.
  auto tile_side = [&tile](const py::handle& h, const char* name) {
    const int64_t v = int_arg(h, name);
    const bool saturated = (v == INT64_MAX || v == INT64_MIN) &&
                           !py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr())).equal(py::int_(v));
    if (saturated || v <= 0)
      throw py::value_error("tile size must be positive and at most 2**63 - 1, got " + short_repr(tile));
    return v;
  };
  if (py::isinstance<py::sequence>(tile) && !py::isinstance<py::str>(tile)) {
    const py::sequence pair = tile.cast<py::sequence>();
    if (pair.size() != 2) throw py::type_error("tile must be an int or a (height, width) pair of ints");
    tile_h = tile_side(pair[0], "tile height");
    tile_w = tile_side(pair[1], "tile width");
  } else {
    tile_h = tile_w = tile_side(tile, "tile");
  }
  AxisPlan rows = plan_axis(height, tile_h, overlap, multiple);
  AxisPlan cols = plan_axis(width, tile_w, overlap, multiple);
  // Each axis holds at most kMaxTiles starts, so the product cannot overflow.
  const int64_t count = static_cast<int64_t>(rows.starts.size() * cols.starts.size());
  if (count > kMaxTiles)
    throw py::value_error("a " + std::to_string(height) + "x" + std::to_string(width) +
                          " image in tiles of " + std::to_string(rows.size) + "x" +
                          std::to_string(cols.size) + " (overlap " + std::to_string(overlap) +
                          ") needs " + std::to_string(rows.starts.size()) + " x " +
                          std::to_string(cols.starts.size()) + " tiles; at most " +
                          std::to_string(kMaxTiles) + " are supported: use larger tiles");
  return TileGrid{rows.starts, cols.starts, rows.size, cols.size};
}

// A TileMerger with the array it writes into (kept alive here, handed out by finish()).
struct PyTileMerger {
  py::array out;
  std::unique_ptr<TileMerger> impl;

  PyTileMerger(int64_t height, int64_t width, int64_t channels, std::vector<int64_t> row_starts,
               std::vector<int64_t> col_starts, int64_t tile_h, int64_t tile_w, int64_t overlap,
               const py::object& dtype, const py::object& scale, const py::object& mean,
               const py::object& std, bool swap_rb, const py::object& clamp,
               const py::object& out_arg) {
    if (height <= 0 || width <= 0)
      throw py::value_error("merged image size must be positive, got " + std::to_string(height) +
                            "x" + std::to_string(width));
    if (channels != 1 && channels != 3 && channels != 4)
      throw py::value_error("merged image must have 1, 3 or 4 channels, got " +
                            std::to_string(channels));
    py::dtype out_dt = parse_dtype(dtype);
    DType ot;
    if (!to_dtype(out_dt, &ot) || ot == DType::f16)
      throw py::type_error("TileMerger: dtype must be uint8, uint16 or float32, got " +
                           std::string(py::str(out_dt)));
    int64_t bytes;
    if (__builtin_mul_overflow(height, width, &bytes) ||
        __builtin_mul_overflow(bytes, channels * static_cast<int64_t>(dtype_size(ot)), &bytes))
      throw py::value_error("merged image " + std::to_string(height) + "x" +
                            std::to_string(width) + "x" + std::to_string(channels) +
                            " is too large: its size overflows");
    if (out_arg.is_none()) {
      // Refuse what the machine cannot hold (with overcommit the allocation alone would succeed
      // and the process be killed while the rows are written); out= may be a numpy.memmap.
      const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
      if (pages > 0 && page > 0 && bytes / page > pages) {
        PyErr_SetString(PyExc_MemoryError,
                        ("merged image " + std::to_string(height) + "x" + std::to_string(width) +
                         "x" + std::to_string(channels) + " " + dtype_name(ot) + " needs " +
                         std::to_string(bytes >> 20) + " MiB, more than this machine's memory (" +
                         std::to_string((static_cast<int64_t>(pages) * page) >> 20) +
                         " MiB); pass out= (e.g. a numpy.memmap) to write it elsewhere")
                            .c_str());
        throw py::error_already_set();
      }
      out = py::array(out_dt, std::vector<py::ssize_t>{height, width, channels});  // MemoryError
    } else {
      if (!py::isinstance<py::array>(out_arg))
        throw py::type_error("out must be a numpy array");
      out = out_arg.cast<py::array>();
    }
    ImageView dst = image_view(out, "out", /*writable=*/true);
    if (dst.dtype != ot || dst.height != height || dst.width != width || dst.channels != channels)
      throw py::value_error("out must be a " + std::string(dtype_name(ot)) + " array of shape (" +
                            std::to_string(height) + ", " + std::to_string(width) + ", " +
                            std::to_string(channels) + "), got " + shape_string(out) + " " +
                            std::string(py::str(out.dtype())));
    const Normalize norm = make_normalize(scale, mean, std, swap_rb, channels, ot);
    const bool do_clamp = clamp.is_none() ? false : clamp.cast<bool>();
    impl = std::make_unique<TileMerger>(dst, std::move(row_starts), std::move(col_starts), tile_h,
                                        tile_w, overlap, norm, do_clamp);
  }

  void add(const py::array& tiles_in, const std::vector<int64_t>& indices) {
    DType t;
    if (!to_dtype(tiles_in.dtype(), &t) || (t != DType::f32 && t != DType::f16))
      throw py::type_error("tiles must be float32 or float16, got " +
                           std::string(py::str(tiles_in.dtype())));
    if (tiles_in.ndim() != 4)
      throw py::value_error("tiles must be NCHW (4-D), got shape " + shape_string(tiles_in));
    if (static_cast<size_t>(tiles_in.shape(0)) != indices.size())
      throw py::value_error("got " + std::to_string(tiles_in.shape(0)) + " tiles but " +
                            std::to_string(indices.size()) + " indices");
    py::array tiles = py::array::ensure(tiles_in, py::array::c_style);
    if (!tiles) {  // ensure() clears numpy's error: only the copy's allocation can fail here
      PyErr_SetString(PyExc_MemoryError, "no memory for a contiguous copy of the tiles");
      throw py::error_already_set();
    }
    TensorView v{const_cast<void*>(tiles.data()), t, tiles.shape(0), tiles.shape(1),
                 tiles.shape(2), tiles.shape(3)};
    auto pool = current_pool();
    py::gil_scoped_release release;
    impl->add(v, indices.data(), *pool);
  }

  py::array finish() const {
    {
      py::gil_scoped_release release;
      impl->finish();
    }
    return out;
  }
};

}  // namespace

void bind_tiling(py::module_& m) {
  py::class_<TileGrid>(m, "TileGrid", "Tile starts per axis and the (padded) tile size.")
      .def_readonly("row_starts", &TileGrid::row_starts)
      .def_readonly("col_starts", &TileGrid::col_starts)
      .def_readonly("tile_height", &TileGrid::tile_height)
      .def_readonly("tile_width", &TileGrid::tile_width)
      .def("regions", &TileGrid::regions,
           "(y, x, height, width) of every tile, row-major; may reach past the image.")
      .def("__len__", [](const TileGrid& g) { return g.row_starts.size() * g.col_starts.size(); })
      .def("__repr__", [](const TileGrid& g) {
        return "TileGrid(" + std::to_string(g.row_starts.size()) + "x" +
               std::to_string(g.col_starts.size()) + " tiles of " + std::to_string(g.tile_height) +
               "x" + std::to_string(g.tile_width) + ")";
      });
  m.def("plan_tiles", &plan_tiles, "height"_a, "width"_a, py::kw_only(), "tile"_a,
        "overlap"_a = 0, "multiple"_a = 1,
        R"doc(Plan a grid of tiles over a height x width image.

`tile` is an int or (height, width).  The tile size is `tile` rounded down to a multiple of `multiple`.  An axis no longer than that is
one tile of the axis length rounded up to `multiple` (filled by reflection); a longer axis gets
tiles inside the image, `tile - overlap` apart, the last flush with the end.)doc");

  py::class_<PyTileMerger>(m, "TileMerger",
                           R"doc(Blend tile outputs back into one image, in bounded memory.

TileMerger(height, width, channels, row_starts, col_starts, tile_height, tile_width, overlap, *,
dtype="float32", scale=None, mean=None, std=None, swap_rb=False, clamp=None, out=None), all sizes
in *output* pixels (multiply input positions by the model's scale).  Each tile is weighted by a
separable half-sine ramp over `overlap` pixels on sides that have a neighbour; every output pixel
is the running weighted mean of the tiles covering it, so an identity model reproduces its input
exactly.  The result is an (H, W, C) array of `dtype` (uint8, uint16 or float32), converted as
from_tensor does with scale/mean/std/swap_rb/clamp; `out` may supply it (a writable array of that
shape and dtype, rows may be strided).  Rows are converted into it as soon as every grid row
covering them is complete, so float accumulators are held only for the rows still open (about one
tile height plus one stride when tiles are added in row-major order).  Starts must be strictly
increasing; grids beyond 2**24 tiles and images whose size overflows raise ValueError; memory
that cannot be had raises MemoryError.)doc")
      .def(py::init<int64_t, int64_t, int64_t, std::vector<int64_t>, std::vector<int64_t>, int64_t,
                    int64_t, int64_t, const py::object&, const py::object&, const py::object&,
                    const py::object&, bool, const py::object&, const py::object&>(),
           "height"_a, "width"_a, "channels"_a, "row_starts"_a, "col_starts"_a, "tile_height"_a,
           "tile_width"_a, "overlap"_a, py::kw_only(), "dtype"_a = "float32",
           "scale"_a = py::none(), "mean"_a = py::none(), "std"_a = py::none(),
           "swap_rb"_a = false, "clamp"_a = py::none(), "out"_a = py::none())
      .def_property_readonly("num_tiles", [](const PyTileMerger& s) { return s.impl->num_tiles(); })
      .def_property_readonly("height", [](const PyTileMerger& s) { return s.impl->height(); })
      .def_property_readonly("width", [](const PyTileMerger& s) { return s.impl->width(); })
      .def_property_readonly("channels", [](const PyTileMerger& s) { return s.impl->channels(); })
      .def_property_readonly("dtype", [](const PyTileMerger& s) { return s.out.dtype(); })
      .def_property_readonly(
          "rows_done",
          [](const PyTileMerger& s) {
            py::gil_scoped_release release;  // waits for an add() in another thread
            return s.impl->rows_done();
          },
          "Output rows already final in the result (rows [0, rows_done)).")
      .def_property_readonly(
          "accumulator_bytes",
          [](const PyTileMerger& s) {
            py::gil_scoped_release release;
            return s.impl->accumulator_bytes();
          },
          "Bytes of float accumulators held now.")
      .def_property_readonly(
          "peak_accumulator_bytes",
          [](const PyTileMerger& s) {
            py::gil_scoped_release release;
            return s.impl->peak_accumulator_bytes();
          },
          "The most bytes of float accumulators held at once so far.")
      .def("add", &PyTileMerger::add, "tiles"_a, "indices"_a,
           "Add an NCHW float batch of tile outputs; tile i is grid tile indices[i] (row-major).")
      .def("finish", &PyTileMerger::finish,
           "The blended (H, W, C) image; RuntimeError if some tile was never added.");
}

}  // namespace imgen::bindings
