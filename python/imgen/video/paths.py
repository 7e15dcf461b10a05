"""Where frames come from and go: video files, frame folders and printf-style frame patterns."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..imageio import IMAGE_EXTENSIONS, walk_files
from .result import VideoError

DEFAULT_FRAME_NAME = "%06d.png"
_PRINTF = re.compile(r"%0?(\d*)d")


@dataclass(frozen=True)
class Location:
    """A video file (``pattern`` None) or a frame pattern like ``frames/%06d.png``."""

    path: Path
    pattern: str | None = None

    @property
    def is_frames(self) -> bool:
        return self.pattern is not None

    def __str__(self) -> str:
        return self.pattern if self.pattern is not None else str(self.path)


def _check_pattern(pattern: str) -> None:
    name = os.path.basename(pattern)
    if len(_PRINTF.findall(name)) != 1 or name.count("%") != 1:
        raise VideoError(f"frame pattern {pattern!r} must hold one %d (e.g. frames/%06d.png) in the file name")
    if Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
        raise VideoError(f"frame pattern {pattern!r} must end in an image extension ({', '.join(IMAGE_EXTENSIONS)})")


def input_location(src: str | os.PathLike) -> Location:
    """A video file, a folder of frames, or a frame pattern (``frames/%06d.png``) to read."""
    text = os.fspath(src)
    path = Path(text)
    if "%" in path.name:
        _check_pattern(text)
        return Location(path.parent, text)
    if path.is_dir():
        return Location(path, str(path / "*"))
    if path.is_file():
        return Location(path)
    raise VideoError(f"{text}: no such file or folder")


def output_location(dst: str | os.PathLike) -> Location:
    """A frame pattern, a folder (frames named %06d.png in it), or a video file to write.

    A path with a % in its name is a pattern; an existing folder, a path ending in a separator
    or one without an extension is a frame folder; anything else is a video file whose
    extension picks the container.
    """
    text = os.fspath(dst)
    path = Path(text)
    if "%" in path.name:
        _check_pattern(text)
        return Location(path.parent, text)
    if path.is_dir() or text.endswith((os.sep, "/")) or not path.suffix:
        return Location(path, str(path / DEFAULT_FRAME_NAME))
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        raise VideoError(f"{text}: an image file cannot hold a video; write frames with a pattern such as "
                         f"{path.with_name(path.stem + '_%06d' + path.suffix)} or a folder")
    return Location(path)


def _natural_key(path: Path):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def frame_files(location: Location) -> list[Path]:
    """The frame files of a folder (images, natural order) or a pattern (by frame number); only
    the files directly in the folder (imageio.walk_files, not recursive)."""
    folder = location.path
    if not folder.is_dir():
        raise VideoError(f"{folder}: no such folder")
    name = os.path.basename(location.pattern)
    extensions = IMAGE_EXTENSIONS if name == "*" else [Path(name).suffix]
    problems: list[str] = []
    images = walk_files(folder, extensions, problems, recursive=False)
    if problems:
        raise VideoError(problems[0])
    if name == "*":
        files = sorted(images, key=_natural_key)
    else:
        prefix, rest = name.split("%", 1)
        match = _PRINTF.match("%" + rest)
        suffix = rest[match.end() - 1:]
        width = match.group(1)
        digits = rf"\d{{{int(width)},}}" if width else r"\d+"
        regex = re.compile(re.escape(prefix) + f"({digits})" + re.escape(suffix) + "$")
        numbered = [(int(m.group(1)), p) for p in images if (m := regex.match(p.name))]
        files = [p for _, p in sorted(numbered)]
    if not files:
        raise VideoError(f"{location}: no frames found ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def partial_path(target: Path) -> Path:
    """Where an interrupted run leaves its playable partial output: OUTPUT.partial.EXT."""
    return target.with_name(f"{target.stem}.partial{target.suffix}")


def check_not_input(source: Location, target: Location, inputs: list[Path] | None = None) -> None:
    """Refuse outputs that would overwrite the input file or one of the input frames."""
    if not target.is_frames:
        protected = {target.path.resolve(), partial_path(target.path).resolve()}
        if not source.is_frames and source.path.resolve() in protected:
            raise VideoError(f"output {target} would overwrite the input; choose another name")
        if source.is_frames and inputs and protected & {p.resolve() for p in inputs}:
            raise VideoError(f"output {target} would overwrite an input frame; choose another name")
        return
    if source.is_frames and inputs:
        written = {(target.path / (os.path.basename(target.pattern) % n)).resolve()
                   for n in range(1, len(inputs) + 1)}
        clash = written & {p.resolve() for p in inputs}
        if clash:
            raise VideoError(f"output {target} would overwrite input frames such as {min(clash)}; "
                             f"choose another folder or pattern")
