"""The model contract read from ONNX metadata (python/imgen/model_info.py): bad values are refused
at load, naming the key, what was given and what is allowed."""
from __future__ import annotations

import pytest

import imgen
from imgen import ModelError
from imgen.model_info import parse_metadata

import onnx_models as om


@pytest.mark.parametrize("key, value, match", [
    # values that would allocate absurdly on the first image / the first latent
    ("min_size", "1000000", r"imgen\.min_size .*4096.*1000000"),
    ("size_multiple", "100000", r"imgen\.size_multiple .*4096.*100000"),
    ("latent_shape", "1000000,1000000", r"imgen\.latent_shape .*1000000000000 elements.*4194304"),
    # values that load and fail (or mislead) later
    ("latent_shape", "-4", r"imgen\.latent_shape .*positive.*-4"),
    ("latent_shape", "8,0", r"imgen\.latent_shape .*positive.*8,0"),
    ("range", "0,inf", r"imgen\.range .*finite.*0,inf"),
    ("range", "nan,1", r"imgen\.range .*finite"),
    ("range", "1,0", r"imgen\.range .*low < high"),
    ("schema", "0", r"imgen\.schema .*>= 1"),
    ("scale", "0", r"imgen\.scale "),
    ("min_size", "0", r"imgen\.min_size "),
    ("tile", "-1", r"imgen\.tile "),
    ("mask_polarity", "2", r"imgen\.mask_polarity .*'1'.*'2'"),
    ("zero_holes", "maybe", r"imgen\.zero_holes .*1/0.*maybe"),
])
def test_bad_metadata_is_refused_naming_the_key(key, value, match):
    with pytest.raises(ModelError, match=match):
        parse_metadata(om.meta(**{key: value}))


def test_the_limits_themselves_are_accepted():
    info = parse_metadata(om.meta(min_size=4096, size_multiple=4096, latent_shape="4,1024,1024", range="-1,1"))
    assert (info.min_size, info.size_multiple, info.latent_shape) == (4096, 4096, (4, 1024, 1024))


def test_load_names_the_file_and_the_key(tmp_path):
    path = om.identity(tmp_path / "big.onnx", 3, om.meta(task="restore", min_size=1000000))
    with pytest.raises(ModelError, match=r"big\.onnx.*imgen\.min_size"):
        imgen.load(path)
    gen = om.generator(tmp_path / "g.onnx", metadata={"imgen.latent_shape": "1000000,1000000"})
    with pytest.raises(ModelError, match=r"g\.onnx.*imgen\.latent_shape"):
        imgen.load(gen)


def test_info_overrides_are_checked_the_same_way(tmp_path):
    path = om.identity(tmp_path / "m.onnx", 3, om.meta(task="restore"))
    with pytest.raises(ModelError, match=r"min_size .*4096"):
        imgen.load(path, info={"min_size": 10**6})
    with pytest.raises(ModelError, match=r"range .*finite"):
        imgen.load(path, info={"value_range": (0.0, float("inf"))})


# What import writes for the engine (issue #14): channels beyond colour, noise units, receptive
# field, whole-image dependence, square inputs and which keys were inferred.

def test_import_keys_round_trip():
    info = imgen.ModelInfo(task="denoise", channels=3, input_channels=4, extra_channels="noise",
                           noise_units="fraction", receptive_field=37, whole_image=False, square=True,
                           size_multiple=8, inferred=("receptive_field", "size_multiple"))
    back = parse_metadata(info.to_metadata())
    assert back == info.replace(schema=1)
    assert back.overlap_needed == 152
    assert parse_metadata({"imgen.channels": "1"}).overlap_needed is None


def test_older_files_read_the_same_defaults():
    info = parse_metadata({"imgen.channels": "3"})
    assert (info.input_channels, info.extra_channels, info.noise_units, info.receptive_field,
            info.whole_image, info.square, info.inferred) == (None, None, "fraction", None, None, False, ())


@pytest.mark.parametrize("meta, match", [
    ({"imgen.whole_image": "maybe"}, r"imgen\.whole_image must be true or false \(or 1/0\), got 'maybe'"),
    ({"imgen.noise_units": "db"}, r"imgen\.noise_units must be 'fraction' or '255'"),
    ({"imgen.extra_channels": "depth"}, r"imgen\.extra_channels must be 'alpha' or 'noise'"),
    ({"imgen.channels": "3", "imgen.extra_channels": "noise"}, r"needs imgen\.input_channels"),
    ({"imgen.channels": "3", "imgen.input_channels": "5", "imgen.extra_channels": "noise"},
     r"channels 1 or 3 and imgen\.input_channels one more, got channels 3, input_channels 5"),
    ({"imgen.channels": "3", "imgen.input_channels": "4"}, r"imgen\.extra_channels=noise"),
    ({"imgen.channels": "3", "imgen.extra_channels": "alpha"}, r"'alpha' needs imgen\.channels 4"),
    ({"imgen.input_channels": "65"}, r"imgen\.input_channels must be an integer from 1 to 64"),
    ({"imgen.receptive_field": "-2"}, r"imgen\.receptive_field must be an integer from 0"),
    ({"imgen.inferred": "scale,colour"}, r"imgen\.inferred names unknown keys colour"),
])
def test_bad_import_keys_are_refused_naming_the_key(meta, match):
    with pytest.raises(ModelError, match=match):
        parse_metadata(meta)


def test_inpaint_metadata_round_trips():
    info = parse_metadata(om.meta(task="inpaint", mask_input="mask", mask_polarity="0", zero_holes="true"))
    assert (info.task, info.mask_input, info.mask_polarity, info.zero_holes) == ("inpaint", "mask", "0", True)
    assert parse_metadata(info.to_metadata()) == info
    assert parse_metadata(om.meta(task="inpaint")).mask_polarity == "1"


def test_norm_stats_round_trips_and_is_checked():
    info = parse_metadata({"imgen.norm_stats": "Instance", "imgen.whole_image": "true"})
    assert info.norm_stats == "instance" and parse_metadata(info.to_metadata()) == info.replace(schema=1)
    assert parse_metadata({"imgen.channels": "3"}).norm_stats is None
    assert "imgen.norm_stats" not in parse_metadata({}).to_metadata()
    with pytest.raises(ModelError, match=r"imgen\.norm_stats must be 'instance', got 'group'"):
        parse_metadata({"imgen.norm_stats": "group"})


# Conventions (issue #29): pre-upsampling, colour space, a published figure; ranges float32 can hold.

def test_convention_keys_round_trip():
    info = imgen.ModelInfo(task="sr", channels=1, scale=3, pre_upsample="bicubic", color_space="y",
                           value_range=(0.0, 255.0), published="Set5 x3 Y: 33.77 dB (Kim et al. 2016)")
    meta = info.to_metadata()
    assert (meta["imgen.pre_upsample"], meta["imgen.color_space"], meta["imgen.range"]) == ("bicubic", "y", "0,255")
    assert meta["imgen.published"] == "Set5 x3 Y: 33.77 dB (Kim et al. 2016)"
    back = parse_metadata(meta)
    assert back == info.replace(schema=1) and back.graph_scale == 1 and info.replace(pre_upsample=None).graph_scale == 3
    plain = parse_metadata(om.meta(channels=3))
    assert (plain.pre_upsample, plain.color_space, plain.published) == (None, "rgb", None)
    assert "imgen.color_space" not in plain.to_metadata() and "imgen.pre_upsample" not in plain.to_metadata()
    assert parse_metadata(om.meta(pre_upsample="Bicubic", scale=2, color_space="Y")).color_space == "y"


@pytest.mark.parametrize("meta, match", [
    ({"range": "0,1e308"}, r"imgen\.range 0,1e\+308 does not fit float32 tensors"),
    ({"range": "0,1e7"}, r"imgen\.range .*within \+-1e\+06"),
    ({"pre_upsample": "bicubic"}, r"imgen\.pre_upsample bicubic needs imgen\.scale"),
    ({"pre_upsample": "bicubic", "scale": "1"}, r"imgen\.pre_upsample bicubic needs imgen\.scale.*got 1"),
    ({"pre_upsample": "nearest", "scale": "2"}, r"imgen\.pre_upsample must be 'bicubic'"),
    ({"color_space": "lab"}, r"imgen\.color_space must be 'rgb' or 'y'"),
    ({"color_space": "y", "channels": "3"}, r"imgen\.color_space y is for 1-channel models"),
])
def test_bad_conventions_are_refused_naming_the_key(meta, match):
    with pytest.raises(ModelError, match=match):
        parse_metadata(om.meta(**meta))


def test_ranges_in_use_are_accepted():
    for value in ("0,1", "-1,1", "0,255", "0,65535", "-0.5,0.5", "16,235"):
        parse_metadata(om.meta(range=value))
