"""
imgen's C++ core: pixel layout conversion, tiling, metrics and classical denoisers.
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['MAX_THREADS', 'ThreadPool', 'TileGrid', 'TileMerger', 'available_cores', 'bm3d', 'bm3d_profile', 'from_tensor', 'get_num_threads', 'patchmatch_inpaint', 'plan_tiles', 'psnr', 'rgb_to_yuv420', 'set_num_threads', 'simd_level', 'ssim', 'to_tensor', 'wavelet_default_levels', 'wavelet_denoise', 'wavelet_dwt2', 'wavelet_idwt2', 'wavelet_names', 'wavelet_simd_level', 'yuv420_to_rgb']
class ThreadPool:
    @property
    def size(self) -> int:
        ...
class TileGrid:
    """
    Tile starts per axis and the (padded) tile size.
    """
    def __len__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def regions(self) -> list[tuple[int, int, int, int]]:
        """
        (y, x, height, width) of every tile, row-major; may reach past the image.
        """
    @property
    def col_starts(self) -> list[int]:
        ...
    @property
    def row_starts(self) -> list[int]:
        ...
    @property
    def tile_height(self) -> int:
        ...
    @property
    def tile_width(self) -> int:
        ...
class TileMerger:
    """
    Blend tile outputs back into one image, in bounded memory.
    
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
    that cannot be had raises MemoryError.
    """
    def __init__(self, height: typing.SupportsInt | typing.SupportsIndex, width: typing.SupportsInt | typing.SupportsIndex, channels: typing.SupportsInt | typing.SupportsIndex, row_starts: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], col_starts: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], tile_height: typing.SupportsInt | typing.SupportsIndex, tile_width: typing.SupportsInt | typing.SupportsIndex, overlap: typing.SupportsInt | typing.SupportsIndex, *, dtype: typing.Any = 'float32', scale: typing.Any = None, mean: typing.Any = None, std: typing.Any = None, swap_rb: bool = False, clamp: typing.Any = None, out: typing.Any = None) -> None:
        ...
    def add(self, tiles: numpy.ndarray, indices: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        """
        Add an NCHW float batch of tile outputs; tile i is grid tile indices[i] (row-major).
        """
    def finish(self) -> numpy.ndarray:
        """
        The blended (H, W, C) image; RuntimeError if some tile was never added.
        """
    @property
    def accumulator_bytes(self) -> int:
        """
        Bytes of float accumulators held now.
        """
    @property
    def channels(self) -> int:
        ...
    @property
    def dtype(self) -> numpy.dtype[typing.Any]:
        ...
    @property
    def height(self) -> int:
        ...
    @property
    def num_tiles(self) -> int:
        ...
    @property
    def peak_accumulator_bytes(self) -> int:
        """
        The most bytes of float accumulators held at once so far.
        """
    @property
    def rows_done(self) -> int:
        """
        Output rows already final in the result (rows [0, rows_done)).
        """
    @property
    def width(self) -> int:
        ...
def _bm3d_haar(group: numpy.ndarray, *, inverse: bool = False) -> numpy.typing.NDArray[numpy.float32]:
    ...
def _bm3d_simd_level() -> str:
    ...
def _bm3d_transform_2d(blocks: numpy.ndarray, transform: str, *, inverse: bool = False) -> numpy.typing.NDArray[numpy.float32]:
    ...
def _bm3d_transform_matrix(transform: str, n: typing.SupportsInt | typing.SupportsIndex) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    ...
def available_cores() -> int:
    """
    Cores this process may run on (CPU affinity).
    """
def bm3d(image: numpy.ndarray, *, sigma: typing.Any, stage: typing.Any = 'both', params: typing.Any = None, pilot: typing.Any = None) -> numpy.ndarray:
    """
    BM3D / CBM3D denoising of an HWC image (see imgen.denoise.bm3d).
    
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
    Returns a new array of the input's shape and dtype.
    """
def bm3d_profile(sigma: typing.Any) -> dict:
    """
    The default BM3D parameters for a noise level (a fraction of the full range), as a dict.
    """
def from_tensor(tensor: numpy.ndarray, *, dtype: typing.Any = 'uint8', scale: typing.Any = None, mean: typing.Any = None, std: typing.Any = None, swap_rb: bool = False, clamp: typing.Any = None, crop: typing.Any = None, out: typing.Any = None) -> numpy.ndarray:
    """
    Convert a planar NCHW (or CHW) float32/float16 tensor to HWC images.
    
    pixel = (tensor * std[c] + mean[c]) / scale, the inverse of to_tensor with the same arguments
    (scale defaults by the *output* dtype: 1/255 uint8, 1/65535 uint16, 1 float32).
    uint8/uint16 outputs are rounded half to even and clamped to the type's range (NaN -> 0);
    float32 outputs are clamped to [0, 1] (the image range, whatever scale/mean/std were) only
    with clamp=True (NaN -> 0 then).
    crop: optional (y, x, height, width) window of the tensor plane to convert.
    Returns (N, H, W, C) for a 4-D tensor, (H, W, C) for a 3-D one.
    """
def get_num_threads() -> int:
    """
    The number of threads the C++ kernels use.
    """
def patchmatch_inpaint(image: numpy.ndarray, mask: numpy.ndarray, *, patch_size: typing.Any = 7, em_iterations: typing.Any = 3, pm_passes: typing.Any = 4, max_levels: typing.Any = 0, seed: typing.Any = 0) -> numpy.ndarray:
    """
    Exemplar-based inpainting (PatchMatch nearest-neighbour fields, multi-scale EM voting).
    
    image: (H, W) or (H, W, C), C in 1, 3, 4; uint8, uint16 or float32 (any range).
    mask: (H, W) bool or uint8, nonzero = missing.
    patch_size: odd, 3..31.  em_iterations: search + vote rounds per level, 1..50 (twice as many at
    the coarsest).  pm_passes: PatchMatch passes per round, 1..16.  max_levels: 0 = automatic, 1..16.
    seed: 0..2**63-2; the result depends only on the inputs and the seed, not on the thread count.
    Returns a new array like image: pixels outside the mask copied exactly, the holes filled.
    Raises ValueError when no patch is fully known, the image is smaller than a patch, or a known
    float sample is not finite.
    """
def plan_tiles(height: typing.SupportsInt | typing.SupportsIndex, width: typing.SupportsInt | typing.SupportsIndex, *, tile: typing.Any, overlap: typing.SupportsInt | typing.SupportsIndex = 0, multiple: typing.SupportsInt | typing.SupportsIndex = 1) -> TileGrid:
    """
    Plan a grid of tiles over a height x width image.
    
    `tile` is an int or (height, width).  The tile size is `tile` rounded down to a multiple of `multiple`.  An axis no longer than that is
    one tile of the axis length rounded up to `multiple` (filled by reflection); a longer axis gets
    tiles inside the image, `tile - overlap` apart, the last flush with the end.
    """
def psnr(a: numpy.ndarray, b: numpy.ndarray, *, data_range: typing.Any = None) -> float:
    """
    Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE); inf if a == b.
    
    a, b: HWC images (H, W) or (H, W, C), C in {1, 3, 4}, the same shape and dtype (uint8, uint16
        or float32).  data_range defaults to 255, 65535 or 1.0 (float32).
    Raises ValueError when a float image holds NaN or infinity.
    """
def rgb_to_yuv420(rgb: typing.Any, y: typing.Any, u: typing.Any, v: typing.Any = None, *, kr: typing.SupportsFloat | typing.SupportsIndex = 0.299, kb: typing.SupportsFloat | typing.SupportsIndex = 0.114, full_range: bool = False) -> None:
    """
    Convert an RGB24 image into the planes of an 8-bit 4:2:0 frame (in place, no copy).
    
    rgb: (H, W, 3) uint8.  y: (H, W) uint8; u, v: (ceil(H/2), ceil(W/2)) uint8 (yuv420p), or
    v=None and u the (ceil(H/2), 2*ceil(W/2)) interleaved UV plane (nv12).  Rows may be padded
    (a PyAV plane viewed as an array).  kr, kb: the matrix's luma weights (BT.601 0.299/0.114,
    BT.709 0.2126/0.0722); full_range: 0-255 instead of 16-235/16-240.  Chroma is filtered as
    libswscale's default (within one level of it).  Runs on imgen's threads without the GIL.
    """
def set_num_threads(n: typing.Any) -> None:
    """
    Set the number of threads the C++ kernels use (0 = all available cores; at most 1024).
    """
def simd_level() -> str:
    """
    The SIMD level the pixel kernels use on this CPU: 'avx2' or 'baseline'.
    """
def ssim(a: numpy.ndarray, b: numpy.ndarray, *, data_range: typing.Any = None) -> float:
    """
    Mean structural similarity (Wang et al. 2004), Gaussian window sigma 1.5, 11 taps.
    
    a, b: HWC images (H, W) or (H, W, C), C in {1, 3, 4}, at least 11x11, the same shape and dtype
        (uint8, uint16 or float32).  data_range defaults to 255, 65535 or 1.0 (float32); it must lie in
        [1e-60, 1e60] (C1 and C2 are its squares).
    Colour images give the mean of the per-channel SSIM.
    Raises ValueError when a float image holds NaN or infinity.
    """
def to_tensor(images: typing.Any, *, dtype: typing.Any = 'float32', scale: typing.Any = None, mean: typing.Any = None, std: typing.Any = None, swap_rb: bool = False, regions: typing.Any = None, out: typing.Any = None) -> numpy.ndarray:
    """
    Convert HWC images to a planar NCHW float tensor.
    
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
    Returns the (N, C, H, W) array.  Raises TypeError/ValueError naming what was expected.
    """
def wavelet_default_levels(height: typing.SupportsInt | typing.SupportsIndex, width: typing.SupportsInt | typing.SupportsIndex, wavelet: typing.Any = 'db1') -> int:
    """
    The levels imgen.denoise.wavelet uses by default: max(pywt.dwtn_max_level - 3, 1).
    """
def wavelet_denoise(image: numpy.ndarray, *, sigma: typing.Any = None, wavelet: typing.Any = 'db1', levels: typing.Any = None, method: typing.Any = 'bayes', mode: typing.Any = 'soft', shifts: typing.Any = 1, thresholds: typing.Any = None) -> numpy.ndarray:
    """
    Wavelet-shrinkage denoising; see imgen.denoise.wavelet for the arguments.  thresholds: a float32
    array (planes, levels finest first, 3 bands H/V/D) used for every shift instead of thresholds from
    this image (the tiled path applies the whole image's thresholds to each tile); None computes them.
    """
def wavelet_dwt2(image: typing.Any, wavelet: typing.Any = 'db1', levels: typing.Any = None) -> list:
    """
    Multi-level 2-D DWT (symmetric mode) in pywt.wavedec2's layout; see imgen.denoise.dwt2.
    """
def wavelet_idwt2(coeffs: typing.Any, wavelet: typing.Any = 'db1', *, shape: typing.Any = None) -> numpy.typing.NDArray[numpy.float32]:
    """
    Inverse of wavelet_dwt2 (pywt.waverec2, symmetric mode); see imgen.denoise.idwt2.
    """
def wavelet_names() -> list[str]:
    """
    Names of the supported wavelets.
    """
def wavelet_simd_level() -> str:
    """
    The SIMD level the wavelet kernels use on this CPU: 'avx2' or 'baseline'.
    """
def yuv420_to_rgb(y: typing.Any, u: typing.Any, v: typing.Any = None, *, kr: typing.SupportsFloat | typing.SupportsIndex = 0.299, kb: typing.SupportsFloat | typing.SupportsIndex = 0.114, full_range: bool = False, cosited: bool = False, out: typing.Any = None) -> numpy.ndarray:
    """
    Convert the planes of an 8-bit 4:2:0 frame to an (H, W, 3) uint8 RGB24 image.
    
    Planes as rgb_to_yuv420's (v=None: nv12).  Chroma is upsampled bilinearly from centred sites, or
    horizontally co-sited (left) ones with cosited=True (H.264/MPEG-2 frames), as libswscale with
    ACCURATE_RND | FULL_CHR_H_INT (within one level of it).  out: optional
    writable (H, W, 3) uint8 array with contiguous rows.  Runs on imgen's threads without the GIL.
    """
MAX_THREADS: int = 1024
_pool: ThreadPool
