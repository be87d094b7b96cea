"""Offline stand-ins for the images the seed notes use.

No registry is reachable where sandboxes run, so ``instavote/vote`` and its tags are built here
as tiny images: Debian's static busybox serving a page that names the tag. The tarballs are
written directly in the ``docker save`` layout (manifest.json, config, layer tars), so building
them needs no running engine; ``docker load`` reads them in each sandbox.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import platform
import shutil
import struct
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEMO_IMAGES = ("instavote/vote:latest", "instavote/vote:movies", "instavote/vote:indent")

# Bumped whenever the image content or layout changes, so cached tarballs from an older build
# are not reused (the cache key is the file name).
FORMAT_VERSION = 2

# Fixed timestamps make the tarballs byte-for-byte reproducible, so identical builds give
# identical image IDs across machines and cache rebuilds.
_EPOCH = 1_466_380_800  # 2016-06-20, the first day of DockerCon 2016
_CREATED = "2016-06-20T00:00:00Z"

# busybox httpd does not handle SIGTERM, and PID 1 in a PID namespace ignores signals it has no
# handler for: a bare httpd would make every `docker service rm/update` wait the full stop
# timeout. A shell with a trap is the smallest init that exits at once on SIGTERM (the kernel
# then kills httpd with the rest of the namespace).
_CMD = [
    "/bin/busybox",
    "sh",
    "-c",
    "trap 'exit 0' TERM INT; /bin/busybox httpd -f -p 80 -h /www & wait",
]

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


class ImageBuildError(RuntimeError):
    """The stand-in images cannot be built here (e.g. no static busybox)."""


@dataclass(frozen=True)
class _Layer:
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def build_demo_images(
    *, out_dir: Path, tags: Sequence[str] = DEMO_IMAGES, busybox: Path | None = None
) -> list[Path]:
    """Return tarballs that ``docker load`` turns into the stand-in images, built if missing.

    All tags go into one archive: they share the busybox layer, and each ``docker load`` call
    costs about 0.1 s of fixed overhead per call and per layer, which every sandbox start pays.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256("\n".join(_normalise_tag(t) for t in tags).encode()).hexdigest()[:8]
    path = out_dir / f"standin-images-{key}.v{FORMAT_VERSION}.tar"
    if not path.exists():
        data = build_images_tar(tags=tags, busybox=busybox or find_static_busybox())
        _write_atomically(path, data)
    return [path]


def find_static_busybox() -> Path:
    """Return a statically linked busybox (Debian's busybox-static), or explain how to get one."""
    for candidate in (shutil.which("busybox"), *BUSYBOX_CANDIDATES):
        if candidate and Path(candidate).is_file() and is_static_elf(Path(candidate)):
            return Path(candidate)
    raise ImageBuildError(
        "No statically linked busybox found: install it with `apt-get install busybox-static` "
        "(a dynamically linked busybox cannot run in a FROM-scratch image)."
    )


def is_static_elf(path: Path) -> bool:
    """True when path is an ELF executable without a program interpreter (statically linked)."""
    with path.open("rb") as f:
        header = f.read(64)
        if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit ELF only
            return False
        endian = "<" if header[5] == 1 else ">"
        phoff = struct.unpack_from(endian + "Q", header, 0x20)[0]
        phentsize, phnum = struct.unpack_from(endian + "HH", header, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    pt_interp = 3
    return all(
        struct.unpack_from(endian + "I", table, i * phentsize)[0] != pt_interp for i in range(phnum)
    )


def build_images_tar(*, tags: Sequence[str], busybox: Path) -> bytes:
    """Return a ``docker save`` archive (docker-archive layout) holding one image per tag."""
    base = _Layer(_busybox_layer(busybox))
    blobs: dict[str, bytes] = {f"{base.digest}/layer.tar": base.data}
    manifest = []
    repositories: dict[str, dict[str, str]] = {}
    for tag in tags:
        full_tag = _normalise_tag(tag)
        page = _Layer(_page_layer(full_tag))
        layers = [base, page]
        config = _image_config(full_tag, layers)
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        blobs[config_name] = config
        blobs[f"{page.digest}/layer.tar"] = page.data
        manifest.append(
            {
                "Config": config_name,
                "RepoTags": [full_tag],
                "Layers": [f"{layer.digest}/layer.tar" for layer in layers],
            }
        )
        repo, _, version = full_tag.rpartition(":")
        repositories.setdefault(repo, {})[version] = page.digest

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in blobs.items():
            if name.endswith("/layer.tar"):
                _add_dir(tar, name.split("/")[0])
                _add_file(tar, name.replace("layer.tar", "VERSION"), b"1.0")
            _add_file(tar, name, data)
        _add_file(tar, "manifest.json", json.dumps(manifest).encode())
        _add_file(tar, "repositories", json.dumps(repositories).encode())
    return out.getvalue()


def _image_config(tag: str, layers: Sequence[_Layer]) -> bytes:
    config = {
        "architecture": _go_arch(),
        "os": "linux",
        "created": _CREATED,
        "config": {
            "Env": ["PATH=/bin"],
            "Cmd": _CMD,
            "WorkingDir": "/www",
            "ExposedPorts": {"80/tcp": {}},
            "StopSignal": "SIGTERM",
            "Labels": {
                "org.opencontainers.image.title": tag,
                "org.opencontainers.image.description": (
                    f"offline stand-in for {tag}: busybox httpd serving one page, "
                    "built by Confnotes because no registry is reachable"
                ),
                "org.opencontainers.image.source": "confnotes runner/images.py",
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer.digest}" for layer in layers]},
        "history": [
            {"created": _CREATED, "created_by": "COPY busybox-static /bin/busybox"},
            {"created": _CREATED, "created_by": f"COPY index.html /www/  # {tag}"},
        ],
    }
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


def _busybox_layer(busybox: Path) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _add_dir(tar, "bin")
        _add_file(tar, "bin/busybox", busybox.read_bytes(), mode=0o755)
        # `docker exec ... sh` and friends expect a shell on PATH.
        # Not wget: static glibc name lookups crash without NSS modules in a scratch image.
        for applet in ("sh", "httpd", "ls", "cat", "ps", "nc", "nslookup", "ip", "hostname"):
            _add_symlink(tar, f"bin/{applet}", "busybox")
        _add_dir(tar, "etc")
        _add_file(tar, "etc/passwd", b"root:x:0:0:root:/:/bin/sh\n")
        _add_file(tar, "etc/group", b"root:x:0:\n")
        _add_dir(tar, "tmp", mode=0o1777)
    return out.getvalue()


def _page_layer(tag: str) -> bytes:
    name = html.escape(tag)
    page = f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{name} (offline stand-in)</title></head>
<body>
<h1>{name}</h1>
<p>This is an offline stand-in for the real <code>{name}</code> image: no registry was
reachable, so Confnotes built a tiny busybox web server that names the tag it was started as.</p>
</body>
</html>
"""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _add_dir(tar, "www")
        _add_file(tar, "www/index.html", page.encode())
    return out.getvalue()


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, *, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = _EPOCH
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, *, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = _EPOCH
    tar.addfile(info)


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    info.mtime = _EPOCH
    tar.addfile(info)


def _normalise_tag(tag: str) -> str:
    last = tag.rsplit("/", 1)[-1]
    return tag if ":" in last else f"{tag}:latest"


def _go_arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(
        machine, machine
    )


def _write_atomically(path: Path, data: bytes) -> None:
    # Concurrent workers may build the same cache: write aside, then rename into place.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
