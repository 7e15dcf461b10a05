"""imgen.distributed._address: an address that cannot be joined is named in one line, at once."""
from __future__ import annotations

import socket
import sys

import pytest

from imgen.distributed import _address
from imgen.errors import ImgenError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nothing_listening_is_named():
    port = _closed_port()
    with pytest.raises(ImgenError, match=rf"cannot connect to Ray at 127.0.0.1:{port}: nothing answers there .*"
                                         rf"ray start --head --port={port}"):
        _address.check_reachable(f"127.0.0.1:{port}")


@pytest.mark.parametrize("address", ["localhost", "host:port", "10.0.0.1:"])
def test_malformed_address(address):
    with pytest.raises(ImgenError, match="a Ray address is HOST:PORT, 'auto' or ray://HOST:PORT"):
        _address.check_reachable(address)


def test_ray_client_needs_grpc(monkeypatch):
    monkeypatch.setitem(sys.modules, "grpc", None)  # as if ray[client] were not installed
    with pytest.raises(ImgenError, match=r"pip install 'ray\[client\]'"):
        _address.check_client()


def test_auth_message_names_the_fix(monkeypatch):
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    assert "set RAY_AUTH_MODE=token" in _address.auth_message("h:1")
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    message = _address.auth_message("h:1")
    assert "refused this machine's authentication token" in message and "~/.ray/auth_token" in message


def test_cli_unreachable_address_is_one_line(tmp_path, capsys):
    pytest.importorskip("ray")
    from imgen.cli import main

    port = _closed_port()
    (tmp_path / "in").mkdir()
    assert main(["run", "denoise-gray", str(tmp_path / "in"), "-o", str(tmp_path / "out"),
                 "--ray", f"127.0.0.1:{port}"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"imgen: error: cannot connect to Ray at 127.0.0.1:{port}"), err
