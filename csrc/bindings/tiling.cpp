// Bindings for the tile grid and the blending merger.
#include <pybind11/stl.h>

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
  if (py::isinstance<py::int_>(tile)) {
    tile_h = tile_w = tile.cast<int64_t>();
  } else {
    try {
      std::tie(tile_h, tile_w) = tile.cast<std::pair<int64_t, int64_t>>();
    } catch (py::cast_error&) {
      throw py::type_error("tile must be an int or a (height, width) pair of ints");
    }
  }
  if (tile_h <= 0 || tile_w <= 0)
    throw py::value_error("tile size must be positive, got " + std::to_string(tile_h) + "x" +
                          std::to_string(tile_w));
  AxisPlan rows = plan_axis(height, tile_h, overlap, multiple);
  AxisPlan cols = plan_axis(width, tile_w, overlap, multiple);
  return TileGrid{rows.starts, cols.starts, rows.size, cols.size};
}

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

  py::class_<TileMerger>(m, "TileMerger",
                         R"doc(Blend tile outputs back into one image.

TileMerger(height, width, channels, row_starts, col_starts, tile_height, tile_width, overlap),
all in *output* pixels (multiply input positions by the model's scale).  Each tile is weighted by
a separable half-sine ramp over `overlap` pixels on sides that have a neighbour; every output
pixel is sum(w*x)/sum(w) in double precision, so an identity model reproduces its input exactly.)doc")
      .def(py::init<int64_t, int64_t, int64_t, std::vector<int64_t>, std::vector<int64_t>, int64_t,
                    int64_t, int64_t>(),
           "height"_a, "width"_a, "channels"_a, "row_starts"_a, "col_starts"_a, "tile_height"_a,
           "tile_width"_a, "overlap"_a)
      .def_property_readonly("num_tiles", &TileMerger::num_tiles)
      .def_property_readonly("height", &TileMerger::height)
      .def_property_readonly("width", &TileMerger::width)
      .def_property_readonly("channels", &TileMerger::channels)
      .def(
          "add",
          [](TileMerger& self, const py::array& tiles_in, const std::vector<int64_t>& indices) {
            DType t;
            if (!to_dtype(tiles_in.dtype(), &t) || (t != DType::f32 && t != DType::f16))
              throw py::type_error("tiles must be float32 or float16, got " +
                                   std::string(py::str(tiles_in.dtype())));
            if (tiles_in.ndim() != 4)
              throw py::value_error("tiles must be NCHW (4-D), got shape " + shape_string(tiles_in));
            py::array tiles = py::array::ensure(tiles_in, py::array::c_style);
            if (static_cast<size_t>(tiles.shape(0)) != indices.size())
              throw py::value_error("got " + std::to_string(tiles.shape(0)) + " tiles but " +
                                    std::to_string(indices.size()) + " indices");
            TensorView v{const_cast<void*>(tiles.data()), t, tiles.shape(0), tiles.shape(1),
                         tiles.shape(2), tiles.shape(3)};
            auto pool = current_pool();
            py::gil_scoped_release release;
            self.add(v, indices.data(), *pool);
          },
          "tiles"_a, "indices"_a,
          "Add an NCHW float batch of tile outputs; tile i is grid tile indices[i] (row-major).")
      .def(
          "finish",
          [](const TileMerger& self, const py::object& dtype, const py::object& scale,
             const py::object& mean, const py::object& std, bool swap_rb, const py::object& clamp) {
            py::dtype out_dt = parse_dtype(dtype);
            DType ot;
            if (!to_dtype(out_dt, &ot) || ot == DType::f16)
              throw py::type_error("finish: dtype must be uint8, uint16 or float32, got " +
                                   std::string(py::str(out_dt)));
            py::array result(out_dt, std::vector<py::ssize_t>{self.height(), self.width(),
                                                              self.channels()});
            ImageView dst{result.mutable_data(), ot, self.height(), self.width(),
                          self.channels(), self.width() * self.channels()};
            Normalize norm = make_normalize(scale, mean, std, swap_rb, self.channels(), ot);
            const bool do_clamp = clamp.is_none() ? false : clamp.cast<bool>();
            auto pool = current_pool();
            {
              py::gil_scoped_release release;
              self.finish(dst, norm, do_clamp, *pool);
            }
            return result;
          },
          py::kw_only(), "dtype"_a = "float32", "scale"_a = py::none(), "mean"_a = py::none(),
          "std"_a = py::none(), "swap_rb"_a = false, "clamp"_a = py::none(),
          "The blended (H, W, C) image, converted as from_tensor does.");
}

}  // namespace imgen::bindings
