"""Why a Ray address cannot be joined, said in one line before ``ray.init`` tries for 20-40 s."""
from __future__ import annotations

import os
import socket

from ..errors import ImgenError

#: Where the docs say how to set up token authentication and Ray Client.
DOCS = "docs/distributed.md"


def check_client() -> None:
    """ImgenError when ``ray://`` addresses cannot be used here (Ray Client needs grpcio)."""
    try:
        import grpc  # noqa: F401 - what ray[client] adds
    except ImportError:
        raise ImgenError("a ray:// address goes through Ray Client, which needs pip install 'ray[client]' "
                         "(grpcio) on this machine; or join the head node as HOST:6379 instead") from None


def check_reachable(address: str, *, timeout: float = 5.0) -> None:
    """ImgenError when nothing answers at HOST:PORT, or the cluster wants a token this process
    does not send.  Addresses Ray resolves itself ("auto", ray://...) are not checked here."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ImgenError(f"a Ray address is HOST:PORT, 'auto' or ray://HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ImgenError(f"cannot connect to Ray at {address}: nothing answers there ({e.strerror or e}); is "
                         f"`ray start --head --port={port}` running on {host}, and is the port open?") from None
    check_token(address)


def check_token(address: str) -> None:
    """ImgenError naming token authentication when the cluster at ``address`` refuses this process.

    Ray turns token authentication on for clusters started where ``~/.ray/auth_token`` exists,
    but a process joining an explicit HOST:PORT sends the token only with ``RAY_AUTH_MODE=token``.
    """
    try:
        from ray._raylet import GcsClient
        from ray.exceptions import AuthenticationError
    except ImportError:  # another Ray than the one this was written for: let ray.init speak
        return
    try:
        GcsClient(address=address).internal_kv_get(b"imgen-probe", None, timeout=5)
    except AuthenticationError:
        raise ImgenError(auth_message(address)) from None
    except Exception:  # noqa: BLE001 - anything else is ray.init's to report
        return


def auth_message(address: str) -> str:
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return (f"cannot connect to Ray at {address}: the cluster refused this machine's authentication "
                f"token (InvalidAuthToken); copy the cluster's token (the head node's ~/.ray/auth_token) to "
                f"~/.ray/auth_token here, or point $RAY_AUTH_TOKEN_PATH at it (see {DOCS})")
    return (f"cannot connect to Ray at {address}: the cluster requires token authentication "
            f"(InvalidAuthToken); set RAY_AUTH_MODE=token and give this machine the cluster's token "
            f"(~/.ray/auth_token, $RAY_AUTH_TOKEN_PATH or $RAY_AUTH_TOKEN; see {DOCS})")
