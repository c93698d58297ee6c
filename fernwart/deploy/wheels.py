"""The wheels a target needs, taken from the running install: no internet, no build backend.

`fernwart deploy` copies fernwart and the agent's dependencies (psutil, requests, APScheduler, PyYAML and
what they require) as wheels and installs them with ``pip install --no-index``. Each installed
distribution is packed back into a wheel from the files its RECORD lists (compiled extensions included,
with the tag its WHEEL file names); fernwart itself, when installed editable from a source tree, is packed
from its package directory. Packing is deterministic (sorted entries, fixed timestamps), so the same
install gives the same wheel digest, which is what a second deploy compares.

pip's own wheel goes along too: the target's virtualenv is made ``--without-pip`` (no ensurepip, which
Debian leaves out of python3 and which costs seconds) and pip runs from its wheel, as pip supports.

`--wheel FILE` replaces fernwart's packed wheel, `--wheelhouse DIR` the dependencies' (and pip's, when
it holds one).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import fernwart

DISTRIBUTION = "fernwart"
INSTALLER = "pip"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries' timestamp: equal installs pack to equal bytes
_SKIP_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}


class WheelError(Exception):
    """The wheels cannot be put together; the message names the distribution or file."""


@dataclass(frozen=True)
class Wheel:
    """One wheel file: its distribution's name and version, and its SHA-256."""

    path: Path
    name: str
    version: str
    sha256: str


@dataclass(frozen=True)
class Wheelhouse:
    """Fernwart's wheel, its agent dependencies' wheels and pip's, all in one directory."""

    fernwart: Wheel
    dependencies: tuple[Wheel, ...]
    installer: Wheel

    @property
    def all(self) -> tuple[Wheel, ...]:
        """Return fernwart's wheel first, then the dependencies', then pip's."""
        return (self.fernwart, *self.dependencies, self.installer)


def normalize(name: str) -> str:
    """Return a distribution name as wheel file names and comparisons want it (PEP 503, underscores)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise WheelError(f"cannot read the requirement {requirement!r}")
    return match.group(1)


def dependency_closure(root: str = DISTRIBUTION) -> list[metadata.Distribution]:
    """Return the installed distributions `root` needs without extras, root excluded, sorted by name.

    A requirement behind an environment marker whose distribution is not installed here is taken as not
    needed here (``tzdata; platform_system == "Windows"``); one without a marker must be installed.
    """
    found: dict[str, metadata.Distribution] = {}
    todo = _requires_with_marker(installed(root))
    while todo:
        name, has_marker = todo.pop()
        key = normalize(name)
        if key in found:
            continue
        try:
            dist = installed(name)
        except metadata.PackageNotFoundError:
            if has_marker:
                continue
            raise WheelError(f"{name} (needed by the agent) is not installed here; install it or pass "
                             "--wheelhouse DIR") from None
        found[key] = dist
        todo += _requires_with_marker(dist)
    return [found[k] for k in sorted(found)]


def _requires_with_marker(dist: metadata.Distribution) -> list[tuple[str, bool]]:
    out = []
    for requirement in dist.requires or ():
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        out.append((_requirement_name(spec), bool(marker.strip())))
    return out


def installed(name: str) -> metadata.Distribution:
    """Return the installed distribution `name`, as pip installed it (with a WHEEL file).

    A source tree's ``*.egg-info`` on sys.path (the current directory) is passed over: it is not what
    runs. Raises PackageNotFoundError when there is none.
    """
    for dist in metadata.distributions(name=name):
        if dist.read_text("WHEEL") is not None:
            return dist
    return metadata.distribution(name)


def _record_line(arcname: str, data: bytes) -> list[str]:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return [arcname, f"sha256={digest}", str(len(data))]


def _write_wheel(target: Path, entries: Iterable[tuple[str, bytes]], dist_info: str) -> str:
    """Write a wheel of `entries` (arcname, bytes) plus a fresh RECORD; return its SHA-256 (hex)."""
    records: list[list[str]] = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in sorted(entries):
            info = zipfile.ZipInfo(arcname, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            records.append(_record_line(arcname, data))
        record_name = f"{dist_info}/RECORD"
        text = io.StringIO()
        csv.writer(text, lineterminator="\n").writerows([*records, [record_name, "", ""]])
        info = zipfile.ZipInfo(record_name, FIXED_TIME)
        info.external_attr = 0o644 << 16
        archive.writestr(info, text.getvalue())
    data = buffer.getvalue()
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _tag(dist: metadata.Distribution) -> str:
    wheel = dist.read_text("WHEEL") or ""
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    return tags[0] if tags else "py3-none-any"


def _dist_info_entries(dist: metadata.Distribution, dist_info: str) -> Iterator[tuple[str, bytes]]:
    for file in dist.files or ():
        parts = Path(str(file)).parts
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] not in _SKIP_DIST_INFO:
            yield f"{dist_info}/{parts[1]}", Path(str(dist.locate_file(file))).read_bytes()


def pack_installed(dist: metadata.Distribution, directory: Path) -> Wheel:
    """Pack the installed distribution `dist` into a wheel in `directory` from the files RECORD lists.

    Byte-code and files outside site-packages (console scripts, which pip writes anew) are left out.
    Raises WheelError for a distribution without RECORD or with a file missing.
    """
    name, version = dist.metadata["Name"], dist.version
    files = dist.files
    if not files:
        raise WheelError(f"{name} {version}: installed without a RECORD; pass --wheelhouse DIR")
    dist_info = f"{normalize(name)}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = list(_dist_info_entries(dist, dist_info))
    for file in files:
        parts = Path(str(file)).parts
        if parts[0] == ".." or "__pycache__" in parts or parts[0].endswith(".dist-info"):
            continue
        try:
            entries.append(("/".join(parts), Path(str(dist.locate_file(file))).read_bytes()))
        except OSError as exc:
            raise WheelError(f"{name} {version}: cannot read {file}: {exc.strerror}") from None
    path = directory / f"{normalize(name)}-{version}-{_tag(dist)}.whl"
    return Wheel(path, name, version, _write_wheel(path, entries, dist_info))


def _is_editable(dist: metadata.Distribution) -> bool:
    text = dist.read_text("direct_url.json")
    return bool(text) and bool(json.loads(text or "{}").get("dir_info", {}).get("editable"))


def pack_fernwart(directory: Path) -> Wheel:
    """Pack the running fernwart into a wheel in `directory`, also when it is installed editable.

    An editable install is packed from the package directory (every file but byte-code and caches), with
    the metadata of its dist-info.
    """
    dist = installed(DISTRIBUTION)
    if not _is_editable(dist):
        return pack_installed(dist, directory)
    version = dist.version
    dist_info = f"{DISTRIBUTION}-{version}.dist-info"
    entries = list(_dist_info_entries(dist, dist_info))
    root = Path(fernwart.__file__).resolve().parent
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root.parent)
        if path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".pyo"):
            entries.append(("/".join(relative.parts), path.read_bytes()))
    target = directory / f"{DISTRIBUTION}-{version}-py3-none-any.whl"
    return Wheel(target, DISTRIBUTION, version, _write_wheel(target, entries, dist_info))


def read_wheel(path: Path) -> Wheel:
    """Return the Wheel of the file at `path`, name and version from its file name; WheelError if bad."""
    parts = path.name.removesuffix(".whl").split("-")
    if not path.name.endswith(".whl") or len(parts) < 5:
        raise WheelError(f"{path}: not a wheel file name (NAME-VERSION-PY-ABI-PLATFORM.whl)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WheelError(f"{path}: cannot read: {exc.strerror}") from None
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise WheelError(f"{path}: not a zip archive, so not a wheel")
    return Wheel(path, parts[0], parts[1], hashlib.sha256(data).hexdigest())


def collect(directory: Path, wheel: Path | None = None, wheelhouse: Path | None = None) -> Wheelhouse:
    """Put fernwart's wheel and its agent dependencies' wheels into `directory` and return them.

    `wheel` is used as fernwart's instead of packing the running install; `wheelhouse` holds the
    dependencies' wheels instead of packing the installed ones (every .whl in it is taken).
    """
    directory.mkdir(parents=True, exist_ok=True)
    if wheel is not None:
        given = read_wheel(wheel)
        if normalize(given.name) != DISTRIBUTION:
            raise WheelError(f"{wheel}: a wheel of {given.name}, not of fernwart")
        own = Wheel(directory / wheel.name, given.name, given.version, given.sha256)
        own.path.write_bytes(wheel.read_bytes())
    else:
        own = pack_fernwart(directory)
    deps: list[Wheel] = []
    installer = None
    if wheelhouse is not None:
        found = sorted(wheelhouse.glob("*.whl"))
        if not found:
            raise WheelError(f"{wheelhouse}: no .whl files")
        for path in found:
            name = normalize(read_wheel(path).name)
            if name == DISTRIBUTION:
                continue
            if directory.resolve() != wheelhouse.resolve():
                (directory / path.name).write_bytes(path.read_bytes())
            if name == INSTALLER:
                installer = read_wheel(directory / path.name)
            else:
                deps.append(read_wheel(directory / path.name))
    else:
        deps = [pack_installed(d, directory) for d in dependency_closure()]
    if installer is None:
        try:
            installer = pack_installed(installed(INSTALLER), directory)
        except metadata.PackageNotFoundError:
            raise WheelError("pip is not installed here; put its wheel into --wheelhouse DIR") from None
    return Wheelhouse(own, tuple(deps), installer)
