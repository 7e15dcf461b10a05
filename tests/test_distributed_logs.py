"""imgen.distributed._logs.ray_output_to: Ray's output to a file, imgen's stderr untouched."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import imgen

SCRIPT = """
import logging, os, sys
from imgen.distributed._logs import ray_output_to

logging.basicConfig(level=logging.INFO, format="imgen: %(message)s")
log = sys.argv[1]
with ray_output_to(log) as path:
    assert str(path) == log
    os.write(2, b"[C++ line on fd 2]\\n")
    os.write(1, b"[child output on fd 1]\\n")
    print("(raylet) a worker died", flush=True)         # Ray prints its error messages to sys.stdout
    logging.getLogger("ray.some.module").warning("ray's own warning")
    logging.getLogger("imgen").info("imgen's log line")
    print("imgen: progress", file=sys.stderr)
os.write(2, b"after: fd 2\\n")
print("after: stdout", flush=True)
logging.getLogger("ray").warning("after: ray logger")
"""


def test_ray_output_goes_to_the_file(tmp_path):
    log = tmp_path / "ray.log"
    env = dict(os.environ, PYTHONPATH=str(Path(imgen.__file__).resolve().parent.parent))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(log)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines()[:2] == ["imgen: imgen's log line", "imgen: progress"]
    assert "after: fd 2" in r.stderr and r.stdout == "after: stdout\n"
    text = log.read_text()
    for line in ("[C++ line on fd 2]", "[child output on fd 1]", "(raylet) a worker died", "ray's own warning"):
        assert line in text
        assert line not in r.stderr + r.stdout
    assert "imgen" not in text and "after" not in text
    assert (log.stat().st_mode & 0o777) == 0o600
