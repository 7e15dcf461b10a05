"""A client of `imgen serve`: ``Client(url).run(name, image, sigma=..., tile=...)`` -> numpy,
so a pipeline swaps ``model(image)`` for a remote call with one line.  Standard library only."""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import numpy as np

from .errors import ImgenError


class ServerError(ImgenError):
    """The server refused or failed a request; ``status`` is the HTTP status, the message the server's."""

    def __init__(self, status: int, message: str):
        super().__init__(f"server said {status}: {message}")
        self.status = status


class Client:
    """``url``: the server's base URL (http://127.0.0.1:8000); ``token``: its bearer token, if any;
    ``timeout``: seconds per request."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 120.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be http(s)://HOST:PORT, got {url!r}")
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def run(self, name: str, image: np.ndarray, *, sigma: float | None = None, tile: int | None = None,
            color_order: str = "rgb") -> np.ndarray:
        """The model's output for one HWC image (uint8/uint16/float32), same dtype.  sigma: a
        fraction of the full range (0-1), as everywhere in the library.  ServerError on refusal."""
        if not isinstance(image, np.ndarray):
            raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
        query = {"format": "npy", "color_order": color_order}
        if sigma is not None:
            if not 0 <= sigma <= 1:
                raise ValueError(f"sigma is a fraction of the full range in [0, 1] (25 on the 0-255 scale: "
                                 f"25/255), got {sigma}")
            query["sigma"] = repr(sigma * 255)
        if tile is not None:
            query["tile"] = str(tile)
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(image), allow_pickle=False)
        path = f"/v1/models/{urllib.parse.quote(name, safe='')}?{urllib.parse.urlencode(query)}"
        return np.load(io.BytesIO(self._request("POST", path, buf.getvalue())), allow_pickle=False)

    def processor(self, name: str, *, sigma: float | None = None, tile: int | None = None,
                  color_order: str = "bgr", parallel: int = 8) -> "RemoteProcessor":
        """A ``list[HWC] -> list[HWC]`` that runs ``name`` on the server, up to ``parallel`` images at
        once (so the server can batch them); what `imgen run --server` hands its file loop."""
        return RemoteProcessor(self, name, sigma=sigma, tile=tile, color_order=color_order, parallel=parallel)

    def run_bytes(self, name: str, data: bytes, *, sigma: float | None = None, fmt: str | None = None) -> bytes:
        """Image file bytes in, image file bytes out (the format sent unless ``fmt``)."""
        query = {} if fmt is None else {"format": fmt}
        if sigma is not None:
            query["sigma"] = repr(sigma * 255)
        path = f"/v1/models/{urllib.parse.quote(name, safe='')}?{urllib.parse.urlencode(query)}"
        return self._request("POST", path, data)

    def models(self) -> list[str]:
        return json.loads(self._request("GET", "/v1/models"))["models"]

    def info(self, name: str) -> dict:
        return json.loads(self._request("GET", f"/v1/models/{urllib.parse.quote(name, safe='')}"))

    def _request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", "application/octet-stream")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace")
            try:
                text = json.loads(text)["error"]
            except (ValueError, KeyError, TypeError):
                pass
            raise ServerError(e.code, text) from None
        except (urllib.error.URLError, OSError) as e:
            raise ImgenError(f"cannot reach {self.url}: {getattr(e, 'reason', e)}") from None


class RemoteProcessor:
    """Images (HWC, any dtype the server takes) through a served model, in order; see Client.processor."""

    def __init__(self, client: Client, name: str, *, sigma: float | None, tile: int | None, color_order: str,
                 parallel: int):
        self.client, self.name, self.parallel = client, name, max(1, parallel)
        self.kwargs = {"sigma": sigma, "tile": tile, "color_order": color_order}
        self.notes: set[str] = set()

    def __call__(self, images) -> list[np.ndarray]:
        from concurrent.futures import ThreadPoolExecutor

        images = list(images)
        if len(images) <= 1:
            return [self.client.run(self.name, img, **self.kwargs) for img in images]
        with ThreadPoolExecutor(min(self.parallel, len(images))) as pool:
            return list(pool.map(lambda img: self.client.run(self.name, img, **self.kwargs), images))


@dataclass(frozen=True)
class RemoteJob:
    """A :class:`imgen.jobs.Job` whose processor sends each image to ``name`` on the `imgen serve`
    server at ``url`` (``imgen run --server``): BGR(A) images, as files are read; sigma a fraction
    of the full range; ``token``: the server's bearer token.  Nothing is loaded here."""

    url: str
    name: str
    sigma: float | None = None
    tile: int | None = None
    token: str | None = field(default=None, repr=False)

    model = None  # the server runs it: no model here, no GPU wanted
    providers = None
    per_file = False

    @property
    def desc(self) -> str:
        return self.name

    def portable(self) -> "RemoteJob":
        return self

    def with_providers(self, providers) -> "RemoteJob":
        return self

    def __call__(self, threads: int | None = None) -> RemoteProcessor:
        """The remote processor, after asking the server for ``name`` (an unknown model or an
        unreachable server: one ImgenError up front)."""
        try:
            client = Client(self.url, token=self.token)
        except ValueError as e:
            raise ImgenError(str(e)) from None
        process = client.processor(self.name, sigma=self.sigma, tile=self.tile, color_order="bgr")
        client.info(self.name)
        return process
