"""Bits per pixel against PSNR: the shipped faces VAE with quantised latents (``imgen encode --bits``)
next to JPEG and WebP (OpenCV) on the held-out faces.

    PYTHONPATH=python:export python benchmarks/quality/vae_rate_distortion.py [--json out.json]

Images: the 20 held-out faces of lfw_subset (80-99; the VAE trained on 0-79 and non-faces), gray
32x32 uint8 (imgen_train.examples).  VAE: codes = quantize(encoder mean, bits) over [-3, 3],
image = decoder(dequantize(codes)) as uint8; rate = bits x 32 latents / 1024 pixels, no entropy
coding.  JPEG (cv2.IMWRITE_JPEG_QUALITY 1-95) and WebP (cv2.IMWRITE_WEBP_QUALITY 1-100, lossy):
rate = the file's bytes x 8 / pixels, and, separately, the payload alone (JPEG: the bytes after the
start-of-scan header; WebP: the VP8 chunk's data less its 10-byte frame header), since a 32x32 file
is mostly headers that a codec for many such images would share.  PSNR: mean over images of the
uint8 PSNR (peak 255).  "/2": the codec applied to the face shrunk to 16x16 (area) and enlarged back
(cubic), to reach lower rates.  "at the VAE's rates": the codec's PSNR linearly interpolated between the
qualities whose mean rate brackets the VAE's rate; "-" where the codec cannot go that low.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "python"), str(REPO / "export")]

import imgen  # noqa: E402
from imgen.latent_codes import dequantize, quantize  # noqa: E402
from imgen_train import examples  # noqa: E402

BITS = (1, 2, 3, 4, 5, 6, 8)
JPEG_QUALITIES = (1, 5, 10, 20, 30, 50, 70, 90, 95)
WEBP_QUALITIES = (1, 5, 10, 20, 30, 50, 70, 90, 100)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def jpeg_payload(data: bytes) -> int:
    """Bytes of entropy-coded data: after the SOS segment's header, to the end (EOI included)."""
    sos = data.find(b"\xff\xda")
    length = int.from_bytes(data[sos + 2:sos + 4], "big")
    return len(data) - (sos + 2 + length)


def webp_payload(data: bytes) -> int:
    """Bytes of the VP8 (lossy) chunk's data less its 10-byte frame header."""
    at = data.find(b"VP8 ")
    if at < 0:
        raise ValueError("not a lossy (VP8) WebP")
    return int.from_bytes(data[at + 4:at + 8], "little") - 10


def codec_curve(images: np.ndarray, ext: str, flag: int, qualities, down: int = 1) -> list[dict]:
    """Mean rates and PSNR per quality; ``down`` > 1: the codec stores the image shrunk by that factor
    (area) and the decoder enlarges it back (cubic), a standard way to reach lower rates."""
    rows = []
    for q in qualities:
        files, payloads, psnrs = [], [], []
        for img in images:
            h, w = img.shape
            small = cv2.resize(img, (w // down, h // down), interpolation=cv2.INTER_AREA) if down > 1 else img
            ok, buf = cv2.imencode(ext, small, [flag, q])
            assert ok
            data = buf.tobytes()
            back = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
            if down > 1:
                back = cv2.resize(back, (w, h), interpolation=cv2.INTER_CUBIC)
            files.append(len(data))
            payloads.append(jpeg_payload(data) if ext == ".jpg" else webp_payload(data))
            psnrs.append(psnr(img, back))
        px = images[0].size
        rows.append({"quality": q, "bpp_file": 8 * float(np.mean(files)) / px,
                     "bpp_payload": 8 * float(np.mean(payloads)) / px, "psnr": float(np.mean(psnrs))})
    return rows


def at_rate(curve: list[dict], key: str, bpp: float) -> float | None:
    pts = sorted((r[key], r["psnr"]) for r in curve)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if bpp < xs[0] or bpp > xs[-1]:
        return None
    return float(np.interp(bpp, xs, ys))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--encoder", default="faces-vae-encoder")
    p.add_argument("--decoder", default="faces-vae-decoder")
    p.add_argument("--json")
    args = p.parse_args(argv)

    _, test = examples.face_images()
    faces = test[:20]  # lfw_subset 80-99: faces (20-39 are the held-out non-faces)
    mean, _ = imgen.encode(args.encoder, list(faces))
    latent = int(np.prod(mean.shape[1:]))
    px = faces[0].size
    vae = []
    for bits in BITS:
        z = dequantize(quantize(mean, bits), bits)
        out = imgen.decode(args.decoder, z)[..., 0]
        vae.append({"bits": bits, "bpp": bits * latent / px, "psnr": float(np.mean([psnr(a, b) for a, b in zip(faces, out)]))})
    full = imgen.decode(args.decoder, mean)[..., 0]
    vae_float = float(np.mean([psnr(a, b) for a, b in zip(faces, full)]))
    jpeg = codec_curve(faces, ".jpg", cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITIES)
    webp = codec_curve(faces, ".webp", cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITIES)
    jpeg2 = codec_curve(faces, ".jpg", cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITIES, down=2)
    webp2 = codec_curve(faces, ".webp", cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITIES, down=2)

    print(f"VAE unquantised (float32 means, {32 * latent / px:.2f} bpp raw): {vae_float:.2f} dB")
    print(f"{'bits':>4} {'bpp':>6} {'VAE dB':>7} {'JPEG file':>9} {'JPEG payload':>12} {'WebP file':>9} {'WebP payload':>12}"
          f" {'JPEG/2 payload':>14} {'WebP/2 payload':>14}")
    fmt = lambda v: f"{v:.2f}" if v is not None else "-"  # noqa: E731
    table = []
    for r in vae:
        cells = [at_rate(jpeg, "bpp_file", r["bpp"]), at_rate(jpeg, "bpp_payload", r["bpp"]),
                 at_rate(webp, "bpp_file", r["bpp"]), at_rate(webp, "bpp_payload", r["bpp"]),
                 at_rate(jpeg2, "bpp_payload", r["bpp"]), at_rate(webp2, "bpp_payload", r["bpp"])]
        table.append({**r, "jpeg_file": cells[0], "jpeg_payload": cells[1], "webp_file": cells[2], "webp_payload": cells[3],
                      "jpeg_half_payload": cells[4], "webp_half_payload": cells[5]})
        print(f"{r['bits']:>4} {r['bpp']:>6.3f} {r['psnr']:>7.2f} "
              + " ".join(f"{fmt(c):>{w}}" for c, w in zip(cells, (9, 12, 9, 12, 14, 14))))
    for name, curve in (("JPEG", jpeg), ("WebP", webp), ("JPEG of 16x16", jpeg2), ("WebP of 16x16", webp2)):
        points = (f"q{r['quality']} {r['bpp_file']:.2f}/{r['bpp_payload']:.2f} bpp {r['psnr']:.2f} dB" for r in curve)
        print(f"{name}: " + "; ".join(points))
    if args.json:
        Path(args.json).write_text(json.dumps({"vae_float_psnr": vae_float, "table": table, "jpeg": jpeg, "webp": webp,
                                                   "jpeg_half": jpeg2, "webp_half": webp2}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
