"""Device budgets for the labs, each number traceable to the document it came from.

Labs decide whether a model fits (SRAM, flash), how fast it can run (peak ops,
memory bandwidth) and what it costs (power) from these profiles. The numbers
live in ``hardware_profiles.toml`` next to this module, one ``source`` per
number, so a student can check any of them against its datasheet. The file is
validated on load: a typo there would otherwise skew every lab's conclusions
without an error.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = [
    "HardwareProfile",
    "Link",
    "Source",
    "Spec",
    "get_link",
    "get_profile",
    "human_bytes",
    "load_links",
    "load_profiles",
    "sources",
]

DATA_FILE = "hardware_profiles.toml"

DEVICE_CLASSES = frozenset({"microcontroller", "single-board computer", "edge GPU", "datacenter GPU"})

#: The sourced numbers every device must have, in the order profiles list them.
NUMBER_FIELDS = (
    "clock_hz",
    "sram_bytes",
    "dram_bytes",
    "flash_bytes",
    "peak_fp32_ops_per_s",
    "peak_fp16_ops_per_s",
    "peak_int8_ops_per_s",
    "memory_bandwidth_bytes_per_s",
    "power_w",
)
#: The sourced numbers every interconnect must have.
LINK_FIELDS = ("bandwidth_bytes_per_s", "latency_s")
_BYTE_FIELDS = frozenset({"sram_bytes", "dram_bytes", "flash_bytes"})
# Microcontrollers without external RAM have none; every other number must be > 0.
_MAY_BE_ZERO = frozenset({"dram_bytes"})

_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


@dataclass(frozen=True)
class Source:
    """A document that numbers cite, so a reader can check them."""

    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Spec:
    """One number with the id of the source it came from and how it was obtained."""

    value: float
    source: str
    note: str = ""


def _source_of(self, field: str) -> Source:
    """The document that the number in ``field`` (e.g. "sram_bytes") came from."""
    try:
        spec = self.specs[field]
    except KeyError:
        raise KeyError(f"{field!r} is not a sourced number of {self.id}; use one of: {', '.join(self.specs)}") from None
    return self._sources[spec.source]


@dataclass(frozen=True)
class HardwareProfile:
    """One device's budgets in base SI units (Hz, bytes, ops/s, bytes/s, W).

    The numbers are plain attributes so lab code reads naturally
    (``profile.sram_bytes``); ``specs`` keeps each number's source and note for
    when a lab, or a student, asks where it came from.
    """

    id: str
    name: str
    device_class: str
    processor: str
    clock_hz: float
    sram_bytes: int
    dram_bytes: int
    flash_bytes: int
    peak_fp32_ops_per_s: float
    peak_fp16_ops_per_s: float
    peak_int8_ops_per_s: float
    memory_bandwidth_bytes_per_s: float
    power_w: float
    specs: Mapping[str, Spec]
    # Every source of the file the profile came from, keyed by source id, so
    # source() resolves against that file rather than the default one.
    _sources: Mapping[str, Source] = dataclasses.field(repr=False, compare=False)

    source = _source_of

    def __str__(self) -> str:
        parts = [_human_hz(self.clock_hz), f"{human_bytes(self.sram_bytes)} SRAM"]
        if self.dram_bytes:
            parts.append(f"{human_bytes(self.dram_bytes)} DRAM")
        parts.append(f"{human_bytes(self.flash_bytes)} flash")
        return f"{self.name}: {', '.join(parts)}"


@dataclass(frozen=True)
class Link:
    """An interconnect between accelerators, per GPU and per direction, for alpha-beta cost models.

    ``latency_s`` is the start-up cost of one message (alpha), ``bandwidth_bytes_per_s`` what each
    GPU can send while another sends to it (1 / beta).
    """

    id: str
    name: str
    bandwidth_bytes_per_s: float
    latency_s: float
    specs: Mapping[str, Spec]
    _sources: Mapping[str, Source] = dataclasses.field(repr=False, compare=False)

    source = _source_of

    def __str__(self) -> str:
        bandwidth, latency = self.bandwidth_bytes_per_s / 1e9, self.latency_s * 1e6
        return f"{self.name}: {bandwidth:g} GB/s per direction, {latency:g} µs per message"


def human_bytes(n: int) -> str:
    """``n`` bytes in binary units ("256.0 KiB"), as chip datasheets count memory."""
    if n < 0:
        raise ValueError(f"a byte count cannot be negative, got {n}")
    exponent = min(max(n.bit_length() - 1, 0) // 10, len(_BYTE_UNITS) - 1)
    if exponent == 0:
        return f"{n} B"
    return f"{n / 1024**exponent:.1f} {_BYTE_UNITS[exponent]}"


def _human_hz(hz: float) -> str:
    return f"{hz / 1e9:g} GHz" if hz >= 1e9 else f"{hz / 1e6:g} MHz"


def load_profiles(path: Path | None = None) -> dict[str, HardwareProfile]:
    """All device profiles by id, from ``path`` or from the course's own data file.

    The course's file is parsed once per process; each call returns a fresh
    dict, so a caller that edits the dict cannot change what others see.

    Raises:
        ValueError: the file is not valid TOML or breaks a rule of the format
            (the message names the device and field).
    """
    return _load(0, path)


def get_profile(device_id: str) -> HardwareProfile:
    """The course profile of ``device_id`` (e.g. "nano33_ble_sense")."""
    return _lookup(0, "device", device_id)


def sources() -> dict[str, Source]:
    """Every document the course's profiles cite, by source id."""
    return _load(1)


def load_links(path: Path | None = None) -> dict[str, Link]:
    """All interconnect profiles by id, from ``path`` or from the course's own data file (see load_profiles)."""
    return _load(2, path)


def get_link(link_id: str) -> Link:
    """The course profile of the interconnect ``link_id`` (e.g. "nvlink4")."""
    return _lookup(2, "link", link_id)


def _load(part: int, path: Path | None = None) -> dict:
    """Part ``part`` of a parsed file (0 devices, 1 sources, 2 links), as a fresh dict."""
    if path is None:
        return dict(_default_data()[part])
    return _parse(Path(path).read_text(encoding="utf-8"), origin=str(path))[part]


def _lookup(part: int, kind: str, key: str) -> Any:
    """Entry ``key`` of part ``part`` of the course's file; an unknown key names the known ones and how to add it."""
    entries = _default_data()[part]
    try:
        return entries[key]
    except KeyError:
        raise KeyError(
            f"unknown {kind} {key!r}; known {kind}s: {', '.join(entries)}. "
            f"Use one of these ids, or add a [{kind}s.{key}] table to course/{DATA_FILE}."
        ) from None


@functools.lru_cache(maxsize=1)
def _default_data() -> tuple[Mapping[str, HardwareProfile], Mapping[str, Source], Mapping[str, Link]]:
    # importlib.resources finds the file inside an installed package too.
    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    profiles, all_sources, links = _parse(text, origin=DATA_FILE)
    return MappingProxyType(profiles), MappingProxyType(all_sources), MappingProxyType(links)


def _parse(text: str, origin: str) -> tuple[dict[str, HardwareProfile], dict[str, Source], dict[str, Link]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{origin}: not valid TOML: {error}") from None
    all_sources = {
        source_id: _parse_source(source_id, table, origin) for source_id, table in data.get("sources", {}).items()
    }
    profiles = {
        device_id: _parse_device(device_id, table, all_sources, origin)
        for device_id, table in data.get("devices", {}).items()
    }
    if not profiles:
        raise ValueError(f"{origin}: no [devices.<id>] tables")
    links = {
        link_id: _parse_link(link_id, table, all_sources, origin) for link_id, table in data.get("links", {}).items()
    }
    return profiles, all_sources, links


def _parse_source(source_id: str, table: Any, origin: str) -> Source:
    for key in ("title", "url"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ValueError(f"{origin}: source {source_id!r}: missing {key!r}")
    return Source(id=source_id, title=table["title"], url=table["url"])


def _parse_specs(
    what: str, table: Any, fields: tuple[str, ...], all_sources: Mapping[str, Source], origin: str
) -> dict[str, Spec]:
    """The sourced numbers ``fields`` of one table, validated; ``what`` names the table in messages."""

    def fail(field: str, problem: str) -> ValueError:
        return ValueError(f"{origin}: {what}, field {field!r}: {problem}")

    for key in ("name",):
        if not isinstance(table.get(key), str) or not table[key]:
            raise fail(key, "missing text")
    specs: dict[str, Spec] = {}
    for field in fields:
        entry = table.get(field)
        if entry is None:
            raise fail(field, "missing number")
        if not isinstance(entry, dict) or "value" not in entry:
            raise fail(field, 'expected { value = ..., source = "<source id>" }')
        value, source_id = entry["value"], entry.get("source")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(field, f"value must be a number, got {value!r}")
        if field in _BYTE_FIELDS and not isinstance(value, int):
            raise fail(field, f"a byte count must be a whole number, got {value!r}")
        if value < 0 or (value == 0 and field not in _MAY_BE_ZERO):
            raise fail(field, f"value must be positive, got {value!r}")
        if not source_id:
            raise fail(field, "number has no source")
        if source_id not in all_sources:
            raise fail(field, f"source {source_id!r} is not in [sources]")
        if field not in _BYTE_FIELDS:
            value = float(value)
        specs[field] = Spec(value=value, source=source_id, note=entry.get("note", ""))
    return specs


def _parse_device(device_id: str, table: Any, all_sources: Mapping[str, Source], origin: str) -> HardwareProfile:
    def fail(field: str, problem: str) -> ValueError:
        return ValueError(f"{origin}: device {device_id!r}, field {field!r}: {problem}")

    for key in ("class", "processor"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise fail(key, "missing text")
    if table["class"] not in DEVICE_CLASSES:
        raise fail(
            "class",
            f"unknown device class {table['class']!r}; use one of {sorted(DEVICE_CLASSES)}",
        )
    specs = _parse_specs(f"device {device_id!r}", table, NUMBER_FIELDS, all_sources, origin)
    return HardwareProfile(
        id=device_id,
        name=table["name"],
        device_class=table["class"],
        processor=table["processor"],
        **{field: spec.value for field, spec in specs.items()},
        specs=MappingProxyType(specs),
        _sources=all_sources,
    )


def _parse_link(link_id: str, table: Any, all_sources: Mapping[str, Source], origin: str) -> Link:
    specs = _parse_specs(f"link {link_id!r}", table, LINK_FIELDS, all_sources, origin)
    return Link(
        id=link_id,
        name=table["name"],
        **{field: spec.value for field, spec in specs.items()},
        specs=MappingProxyType(specs),
        _sources=all_sources,
    )
