"""Small random-init models of the architectures spandrel knows, for the import tests.

``state_dict(arch)`` builds the architecture with small hyper-parameters (a few blocks, narrow) and
returns its weights, which spandrel must then recognise from their shapes alone.  ``use_stubs()``
puts the tests-only torchvision stand-in (tests/stubs/README.md) on sys.path when the real one is
absent; LaMa and RestoreFormer need it, every ``import spandrel`` imports it.
"""
from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

STUBS = Path(__file__).resolve().parent / "stubs"


def use_stubs() -> bool:
    """Make ``import spandrel`` work without torchvision; True when the stand-in is used."""
    if importlib.util.find_spec("torchvision") is not None and str(STUBS) not in sys.path:
        return False
    if str(STUBS) not in sys.path:
        sys.path.insert(0, str(STUBS))
    return True


def _arch(module: str, cls: str):
    import importlib

    return getattr(importlib.import_module(f"spandrel.architectures.{module}"), cls)


#: arch id -> (module, class, small keyword arguments); convolutional ones are tiled in the tests.
SMALL = {
    "Compact": ("Compact", "Compact", dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=4)),
    "ESRGAN": ("ESRGAN", "ESRGAN", dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=2)),
    "DnCNN": ("DnCNN", "DnCNN", dict(in_nc=1, out_nc=1, nc=8, nb=5, act_mode="R")),
    "FDnCNN": ("DnCNN", "DnCNN", dict(in_nc=2, out_nc=1, nc=8, nb=5, act_mode="R", mode="FDnCNN")),
    "DRUNet": ("DRUNet", "DRUNet", dict(in_nc=4, out_nc=3, nc=[8, 8, 8, 8], nb=2)),
    "SPAN": ("SPAN", "SPAN", dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2)),
    "RCAN": ("RCAN", "RCAN", dict(scale=2, n_resgroups=1, n_resblocks=1, n_feats=16, reduction=4)),
    "NAFNet": ("NAFNet", "NAFNet", dict(img_channel=3, width=8, middle_blk_num=1, enc_blk_nums=[1], dec_blk_nums=[1])),
    "SCUNet": ("SCUNet", "SCUNet", dict(in_nc=3, config=[1, 1, 1, 1, 1, 1, 1], dim=64)),  # heads of 32: dim >= 64
    "SwinIR": ("SwinIR", "SwinIR", dict(in_chans=3, embed_dim=12, depths=[2], num_heads=[2], window_size=4,
                                        mlp_ratio=2.0, upscale=2, upsampler="pixelshuffledirect")),
    "FBCNN": ("FBCNN", "FBCNN", dict(in_nc=3, out_nc=3, nc=[8, 8, 8, 512], nb=2)),  # QF head 512 wide; nb 1 unwraps
    "RetinexFormer": ("RetinexFormer", "RetinexFormer", dict(n_feat=8, stage=1, num_blocks=[1, 1, 1])),
    "SAFMN": ("SAFMN", "SAFMN", dict(dim=8, n_blocks=1, upscaling_factor=2)),
    "OmniSR": ("OmniSR", "OmniSR", dict(num_feat=16, block_num=1, window_size=8, res_num=1, up_scale=2)),
    "PLKSR": ("PLKSR", "PLKSR", dict(dim=16, n_blocks=2, upscaling_factor=2, kernel_size=7)),
    "Swin2SR": ("Swin2SR", "Swin2SR", dict(embed_dim=12, depths=[1], num_heads=[2], window_size=4, mlp_ratio=2.0,
                                           upscale=2, upsampler="pixelshuffledirect")),
    "HAT": ("HAT", "HAT", dict(embed_dim=12, depths=[1], num_heads=[2], window_size=4, compress_ratio=3,
                               squeeze_factor=4, mlp_ratio=2.0, upscale=2, upsampler="pixelshuffle")),
    "DAT": ("DAT", "DAT", dict(embed_dim=32, split_size=[2, 4], depth=[2], num_heads=[2], expansion_factor=2.0,
                               upscale=2)),  # its position bias is embed_dim // 32 wide
    "KBNet": ("KBNet", "KBNet_s", dict(img_channel=3, width=16, middle_blk_num=1, enc_blk_nums=[1], dec_blk_nums=[1])),
    "FFTformer": ("FFTformer", "FFTformer", dict(dim=8, num_blocks=[1, 1, 1], num_refinement_blocks=1,
                                                 ffn_expansion_factor=1)),
    "Uformer": ("Uformer", "Uformer", dict(embed_dim=8, depths=[1, 1, 1, 1, 1, 1, 1, 1, 1],
                                           num_heads=[1, 1, 1, 1, 1, 1, 1, 1, 1], win_size=4)),
    "MixDehazeNet": ("MixDehazeNet", "MixDehazeNet", dict(embed_dims=[8, 16, 16, 16, 8], depths=[1, 1, 1, 1, 1])),
}


def state_dict(arch: str, seed: int = 0) -> dict:
    """Weights of a small random-init ``arch`` (a key of SMALL)."""
    import torch

    module, cls, kwargs = SMALL[arch]
    torch.manual_seed(seed)
    with warnings.catch_warnings():  # SwinIR-family constructors: torch.meshgrid's indexing notice
        warnings.filterwarnings("ignore", message="torch.meshgrid", category=UserWarning)
        net = _arch(module, cls)(**kwargs).eval()
    with torch.no_grad():  # random but not degenerate: norm layers and zero-initialised scales
        for name, p in net.named_parameters():  # (NAFNet's beta/gamma) away from their init
            if p.dim() == 1 and ("norm" in name or name.endswith("weight")):
                p.add_(torch.randn_like(p) * 0.05)
            elif p.numel() and not p.abs().max():
                p.normal_(0, 0.1)
    return {k: v.clone() for k, v in net.state_dict().items()}


def small_lama(seed: int = 0):
    """A random-init LaMa descriptor with spandrel's LaMa code but a narrow generator (8 features, one
    FFC block, instead of 64 and 18: ~0.1 M parameters, not 27 M).  spandrel's detection always builds
    the full generator, so the descriptor is made here as LaMaArch.load makes it."""
    import torch
    from spandrel import MaskedImageModelDescriptor, SizeRequirements
    from spandrel.architectures.LaMa import LaMa, LaMaArch
    from spandrel.architectures.LaMa.__arch.LaMa import FFCResNetGenerator

    torch.manual_seed(seed)
    net = LaMa(in_nc=4, out_nc=3)
    net.model = FFCResNetGenerator(4, 3, ngf=8, n_blocks=1)
    with torch.no_grad():  # batch norms away from their identity init
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.normal_(0, 0.1)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 1.5)
    net.eval()
    return MaskedImageModelDescriptor(net, net.state_dict(), architecture=LaMaArch(), purpose="Inpainting", tags=[],
                                      supports_half=False, supports_bfloat16=True, input_channels=3,
                                      output_channels=3, size_requirements=SizeRequirements(minimum=16, multiple_of=8))
