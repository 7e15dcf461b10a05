"""What a video stream carries beside its pixels: display matrix (rotation), HDR10 static metadata
(mastering display, content light level) and field order -- read from the first decoded frame and
its codec context, handed to the encoder by :mod:`imgen.video.encoding`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction

#: FFmpeg's AVFieldOrder: 0 unknown, 1 progressive, then the interlaced orders.
FIELD_ORDERS = {2: "top field first", 3: "bottom field first", 4: "top field first (coded bottom first)",
                5: "bottom field first (coded top first)"}
_TOP_FIRST = (2, 4)


@dataclass(frozen=True)
class MasteringDisplay:
    """SMPTE ST 2086 mastering display colour volume.

    primaries: CIE 1931 xy of red, green, blue; white_point: xy; luminance in cd/m².
    """

    primaries: tuple[tuple[Fraction, Fraction], tuple[Fraction, Fraction], tuple[Fraction, Fraction]]
    white_point: tuple[Fraction, Fraction]
    min_luminance: Fraction
    max_luminance: Fraction

    def x265(self) -> str:
        """x265's / SVT-AV1's master-display text: G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min), xy in
        units of 0.00002 and luminance in units of 0.0001 cd/m²."""
        (rx, ry), (gx, gy), (bx, by) = ((_units(x, 50000), _units(y, 50000)) for x, y in self.primaries)
        wx, wy = (_units(v, 50000) for v in self.white_point)
        return (f"G({gx},{gy})B({bx},{by})R({rx},{ry})WP({wx},{wy})"
                f"L({_units(self.max_luminance, 10000)},{_units(self.min_luminance, 10000)})")

    def svt(self) -> str:
        """SVT-AV1's mastering-display text: the same fields as decimals (xy, cd/m²)."""
        (rx, ry), (gx, gy), (bx, by) = ((f"{float(x):.5f}", f"{float(y):.5f}") for x, y in self.primaries)
        wx, wy = (f"{float(v):.5f}" for v in self.white_point)
        return (f"G({gx},{gy})B({bx},{by})R({rx},{ry})WP({wx},{wy})"
                f"L({float(self.max_luminance):.4f},{float(self.min_luminance):.4f})")


@dataclass(frozen=True)
class StreamExtras:
    """Side information of the source's video stream.

    display_matrix: FFmpeg's 3x3 display matrix (nine int32, 16.16 / 2.30 fixed point) or None;
    rotation: its counter-clockwise rotation in degrees (what players apply).  mastering /
    light_level: HDR10 static metadata (light_level = MaxCLL, MaxFALL in cd/m²) or None.
    field_order: AVFieldOrder of the stream (0 unknown, 1 progressive, 2..5 interlaced).
    """

    display_matrix: tuple[int, ...] | None = None
    rotation: int = 0
    mastering: MasteringDisplay | None = None
    light_level: tuple[int, int] | None = None
    field_order: int = 0

    @property
    def interlaced(self) -> bool:
        return self.field_order in FIELD_ORDERS

    @property
    def top_field_first(self) -> bool:
        return self.field_order in _TOP_FIRST


def side_data(frame) -> list:
    """A decoded PyAV frame's side data entries (each with ``.type`` and its bytes): PyAV 18.1.0's
    container iterates over the entries, 18.1.1's over their types (a mapping)."""
    container = frame.side_data
    return [item if hasattr(item, "type") else container[item] for item in container]


def read_extras(frame, field_order: int) -> StreamExtras:
    """StreamExtras from a decoded PyAV VideoFrame's side data and the decoder's field order
    (an interlaced first frame of unknown order counts as top field first)."""
    matrix = mastering = light = None
    for sd in side_data(frame):
        name = getattr(sd.type, "name", "")
        data = bytes(sd)
        if name == "DISPLAYMATRIX" and len(data) == 36:
            matrix = struct.unpack("<9i", data)
        elif name == "MASTERING_DISPLAY_METADATA" and len(data) >= 88:
            mastering = _mastering(data)
        elif name == "CONTENT_LIGHT_LEVEL" and len(data) >= 8:
            light = struct.unpack("<2I", data[:8])
    if field_order not in FIELD_ORDERS and getattr(frame, "interlaced_frame", False):
        field_order = 2 if getattr(frame, "top_field_first", True) else 3
    rotation = int(getattr(frame, "rotation", 0) or 0) if matrix else 0
    if matrix is not None and matrix == (65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30):
        matrix = None  # the identity: nothing to keep
    return StreamExtras(display_matrix=matrix, rotation=rotation, mastering=mastering, light_level=light,
                        field_order=field_order)


def _mastering(data: bytes) -> MasteringDisplay | None:
    """AVMasteringDisplayMetadata: 3x2 primaries, 2 white point, min, max (AVRationals), then
    has_primaries, has_luminance (ints)."""
    v = struct.unpack("<20i2i", data[:88])
    r = [Fraction(v[i], v[i + 1]) if v[i + 1] else Fraction(0) for i in range(0, 20, 2)]
    if not (v[20] and v[21]):  # x265/SVT-AV1 need both parts
        return None
    return MasteringDisplay(primaries=((r[0], r[1]), (r[2], r[3]), (r[4], r[5])), white_point=(r[6], r[7]),
                            min_luminance=r[8], max_luminance=r[9])


def _units(value: Fraction, per_unit: int) -> int:
    return int(round(value * per_unit))
