"""``imgen video --inpaint-mask``: one mask filled in every frame (classical method or inpaint
model), audio kept; outside the mask frames are untouched (checked on lossless frame folders);
a mask of another size is an error naming both sizes."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

av = pytest.importorskip("av")

from imgen.cli import main  # noqa: E402

import onnx_models as om  # noqa: E402
import video_clips as vc  # noqa: E402


def _mask(tmp_path, w=64, h=48):
    mask = np.zeros((h, w), np.uint8)
    mask[10:18, 20:34] = 255
    path = tmp_path / f"logo{w}x{h}.png"
    cv2.imwrite(str(path), mask)
    return path, mask > 0


def test_a_video_keeps_its_audio_and_frame_count(tmp_path):
    clip = vc.make_clip(tmp_path / "in.mp4", frames=6)
    mask, _ = _mask(tmp_path)
    out = tmp_path / "out.mp4"
    assert main(["video", str(clip), "-o", str(out), "--inpaint-mask", str(mask), "--method", "telea", "-q"]) == 0
    src, got = vc.read_clip(clip), vc.read_clip(out)
    assert len(got["frames"]) == 6 and got["size"] == (64, 48)
    assert got["packets"]["audio"] == src["packets"]["audio"]


@pytest.mark.parametrize("how", [["--method", "telea"], ["--method", "ns"], ["--model", "MODEL"]])
def test_frames_change_only_inside_the_mask(tmp_path, how):
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:06d}.png"), cv2.cvtColor(vc.frame_image(i, 48, 64), cv2.COLOR_RGB2BGR))
    mask, holes = _mask(tmp_path)
    if how[0] == "--model":
        how = ["--model", str(om.add_mask(tmp_path / "m.onnx", metadata=om.meta(task="inpaint", mask_input="mask")))]
    out = tmp_path / "out"
    assert main(["video", str(frames), "-o", str(out / "%06d.png"), "--inpaint-mask", str(mask), *how, "-q"]) == 0
    written = sorted(out.glob("*.png"))
    assert len(written) == 3
    for i, path in enumerate(written):
        a, b = cv2.imread(str(frames / f"{i:06d}.png")), cv2.imread(str(path))
        np.testing.assert_array_equal(a[~holes], b[~holes])
        assert not np.array_equal(a[holes], b[holes])


def test_bad_combinations_and_sizes_are_clear_errors(tmp_path, capsys):
    clip = vc.make_clip(tmp_path / "in.mp4", frames=3, audio=False)
    small, _ = _mask(tmp_path, 32, 20)
    out = str(tmp_path / "o.mp4")
    assert main(["video", str(clip), "-o", out, "--inpaint-mask", str(small), "--method", "telea", "-q"]) != 0
    assert "logo32x20.png is 32x20 (WxH) but the image is 64x48" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", out, "--method", "telea", "-q"]) == 1
    assert "give the mask with --inpaint-mask" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", out, "--inpaint-mask", str(small), "--method", "bm3d", "-q"]) == 1
    assert "not --method bm3d" in capsys.readouterr().err
    assert main(["video", str(clip), "-o", out, "--inpaint-mask", str(tmp_path / "none.png"), "--method", "ns"]) == 1
    assert "no such file" in capsys.readouterr().err
