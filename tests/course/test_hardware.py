"""Tests for course.hardware: the shipped numbers are sourced and plausible, and
broken profile files fail loudly, naming the device and field."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from course.hardware import (
    LINK_FIELDS,
    NUMBER_FIELDS,
    HardwareProfile,
    get_link,
    get_profile,
    human_bytes,
    load_links,
    load_profiles,
    sources,
)

REQUIRED_DEVICES = (
    "nano33_ble_sense",
    "esp32_s3",
    "nicla_vision",
    "raspberry_pi_4",
    "raspberry_pi_5",
    "jetson_orin_nano",
    "h100_sxm",
)
# Devices whose documents give (or whose SIMD/Tensor units imply) more int8 than
# fp32 throughput. A device where that is not true must not be listed here.
INT8_AT_LEAST_FP32 = REQUIRED_DEVICES


@pytest.fixture(scope="module")
def profiles() -> dict[str, HardwareProfile]:
    return load_profiles()


def test_every_required_device_is_present(profiles: dict[str, HardwareProfile]) -> None:
    assert set(REQUIRED_DEVICES) <= set(profiles)


@pytest.mark.parametrize("device_id", REQUIRED_DEVICES)
def test_every_number_has_a_source_with_title_and_https_url(
    profiles: dict[str, HardwareProfile], device_id: str
) -> None:
    profile = profiles[device_id]
    assert set(profile.specs) == set(NUMBER_FIELDS)
    for field in NUMBER_FIELDS:
        assert profile.specs[field].value == getattr(profile, field)
        source = profile.source(field)
        assert source.title.strip(), (device_id, field)
        url = urlparse(source.url)
        assert url.scheme == "https" and url.netloc, (device_id, field, source.url)


def test_sources_lists_every_cited_source(profiles: dict[str, HardwareProfile]) -> None:
    cited = {spec.source for p in profiles.values() for spec in p.specs.values()}
    assert cited <= set(sources())


def test_source_of_an_unknown_field_names_the_choices() -> None:
    with pytest.raises(KeyError, match="sram_bytes"):
        get_profile("nano33_ble_sense").source("name")


def test_nano_budgets_are_in_bytes_and_hertz() -> None:
    nano = get_profile("nano33_ble_sense")
    assert nano.sram_bytes == 256 * 1024 == 262_144
    assert nano.flash_bytes == 1024 * 1024
    assert nano.dram_bytes == 0
    assert nano.clock_hz == 64_000_000
    assert nano.device_class == "microcontroller"


def test_every_microcontroller_has_less_sram_than_any_bigger_device_has_dram(
    profiles: dict[str, HardwareProfile],
) -> None:
    mcus = [p for p in profiles.values() if p.device_class == "microcontroller"]
    others = [p for p in profiles.values() if p.device_class != "microcontroller"]
    assert mcus and others
    assert max(p.sram_bytes for p in mcus) < min(p.dram_bytes for p in others)


def test_h100_has_more_memory_bandwidth_than_the_pi() -> None:
    h100, pi = get_profile("h100_sxm"), get_profile("raspberry_pi_4")
    assert h100.memory_bandwidth_bytes_per_s > 100 * pi.memory_bandwidth_bytes_per_s


@pytest.mark.parametrize("device_id", INT8_AT_LEAST_FP32)
def test_peak_int8_is_at_least_peak_fp32(device_id: str) -> None:
    profile = get_profile(device_id)
    assert profile.peak_int8_ops_per_s >= profile.peak_fp32_ops_per_s


def test_str_is_a_one_line_summary() -> None:
    assert str(get_profile("nano33_ble_sense")) == ("Arduino Nano 33 BLE Sense: 64 MHz, 256.0 KiB SRAM, 1.0 MiB flash")


def test_callers_cannot_change_the_cached_profiles() -> None:
    load_profiles().clear()
    assert set(REQUIRED_DEVICES) <= set(load_profiles())


def test_get_profile_of_an_unknown_id_lists_the_known_ids() -> None:
    with pytest.raises(KeyError) as excinfo:
        get_profile("nope")
    message = str(excinfo.value)
    assert "'nope'" in message
    for device_id in REQUIRED_DEVICES:
        assert device_id in message


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (262_144, "256.0 KiB"),
        (1_048_576, "1.0 MiB"),
        (80 * 1024**3, "80.0 GiB"),
    ],
)
def test_human_bytes(n: int, expected: str) -> None:
    assert human_bytes(n) == expected


# --- Validation of broken files -------------------------------------------------

VALID_NUMBER = '{ value = 1, source = "ps" }'


def write_profiles(tmp_path: Path, device_class: str = "microcontroller", **numbers: str | None) -> Path:
    """A one-device profile file; ``numbers`` replaces (or, with None, drops) fields."""
    fields = {field: VALID_NUMBER for field in NUMBER_FIELDS} | numbers
    lines = [
        "[sources.ps]",
        'title = "Toy product specification v1.0"',
        'url = "https://example.com/toy.pdf"',
        "",
        "[devices.toy]",
        'name = "Toy board"',
        f'class = "{device_class}"',
        'processor = "Toy CPU"',
        *(f"{field} = {value}" for field, value in fields.items() if value is not None),
    ]
    path = tmp_path / "profiles.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_toy_file_is_valid_so_the_broken_variants_test_one_thing(tmp_path: Path) -> None:
    toy = load_profiles(write_profiles(tmp_path, dram_bytes='{ value = 0, source = "ps" }'))["toy"]
    assert toy.dram_bytes == 0
    assert toy.source("power_w").title == "Toy product specification v1.0"


@pytest.mark.parametrize(
    ("broken", "field", "problem"),
    [
        ({"clock_hz": None}, "clock_hz", "missing number"),
        ({"sram_bytes": "{ value = 1 }"}, "sram_bytes", "no source"),
        (
            {"flash_bytes": '{ value = 1, source = "nope" }'},
            "flash_bytes",
            "'nope' is not in [sources]",
        ),
        ({"power_w": '{ value = -5.0, source = "ps" }'}, "power_w", "positive"),
        ({"clock_hz": '{ value = 0, source = "ps" }'}, "clock_hz", "positive"),
        ({"sram_bytes": '{ value = 1.5, source = "ps" }'}, "sram_bytes", "whole number"),
        ({"device_class": "quantum computer"}, "class", "unknown device class"),
    ],
)
def test_broken_files_raise_one_line_errors_naming_device_and_field(
    tmp_path: Path, broken: dict[str, str | None], field: str, problem: str
) -> None:
    with pytest.raises(ValueError) as excinfo:
        load_profiles(write_profiles(tmp_path, **broken))
    message = str(excinfo.value)
    assert "'toy'" in message
    assert f"'{field}'" in message
    assert problem in message
    assert "\n" not in message


def test_the_pi_5_is_the_faster_pi_and_has_int8_dot_products() -> None:
    pi4, pi5 = get_profile("raspberry_pi_4"), get_profile("raspberry_pi_5")
    assert pi5.clock_hz > pi4.clock_hz and pi5.memory_bandwidth_bytes_per_s > pi4.memory_bandwidth_bytes_per_s
    # SDOT (Armv8.2) gives the A76 four int8 MACs per lane where the A72 widens to 16 bits: int8 peak = 4x fp32.
    assert pi5.peak_int8_ops_per_s == 4 * pi5.peak_fp32_ops_per_s
    assert pi4.peak_int8_ops_per_s == 2 * pi4.peak_fp32_ops_per_s


def test_fp16_is_at_least_fp32_and_faster_only_where_the_hardware_computes_in_half_precision() -> None:
    profiles = load_profiles()
    assert all(p.peak_fp16_ops_per_s >= p.peak_fp32_ops_per_s for p in profiles.values())
    faster = {device for device, p in profiles.items() if p.peak_fp16_ops_per_s > p.peak_fp32_ops_per_s}
    assert faster == {"raspberry_pi_5", "jetson_orin_nano", "h100_sxm"}  # Armv8.2 FP16 and Tensor Cores
    h100 = profiles["h100_sxm"]
    assert h100.peak_int8_ops_per_s == pytest.approx(2 * h100.peak_fp16_ops_per_s, rel=0.01)


# --- Interconnects ----------------------------------------------------------------


def test_every_link_number_has_a_source_and_nvlink_is_the_faster_link() -> None:
    links = load_links()
    assert {"nvlink4", "infiniband_ndr"} <= set(links)
    for link in links.values():
        assert set(link.specs) == set(LINK_FIELDS)
        for field in LINK_FIELDS:
            assert link.specs[field].value == getattr(link, field)
            assert urlparse(link.source(field).url).scheme == "https", (link.id, field)
    nvlink, infiniband = get_link("nvlink4"), get_link("infiniband_ndr")
    assert nvlink.bandwidth_bytes_per_s == 9 * infiniband.bandwidth_bytes_per_s  # 450 GB/s against 50 GB/s
    assert 0 < nvlink.latency_s < infiniband.latency_s < 1e-4


def test_an_unknown_link_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="nvlink4"):
        get_link("nvlink9")


def test_a_broken_link_raises_a_one_line_error_naming_link_and_field(tmp_path: Path) -> None:
    path = write_profiles(tmp_path)
    path.write_text(
        path.read_text() + '\n[links.wire]\nname = "A wire"\nbandwidth_bytes_per_s = { value = 1, source = "ps" }\n'
    )
    with pytest.raises(ValueError) as excinfo:
        load_links(path)
    assert (
        "link 'wire'" in str(excinfo.value)
        and "'latency_s'" in str(excinfo.value)
        and "missing number" in str(excinfo.value)
    )
