"""Memory bounded before allocation: GPUENT_MEMORY_LIMIT and the checks that use it."""

from __future__ import annotations

import numpy as np
import pytest

import gpuent
from gpuent._memory import MemoryLimitError, check_allocation, memory_limit
from gpuent.cli import main


@pytest.mark.parametrize("text, expected", [("1024", 1024), ("64M", 64 * 2**20),
                                            ("2g", 2 * 2**30), ("1.5KiB", 1536)])
def test_limit_from_the_environment(monkeypatch, text, expected):
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", text)
    assert memory_limit() == expected


def test_share_and_bad_values(monkeypatch):
    monkeypatch.delenv("GPUENT_MEMORY_LIMIT", raising=False)
    default = memory_limit()
    assert default > 0
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "100%")
    assert memory_limit() >= default
    for bad in ("lots", "-5G", "0", "150%"):
        monkeypatch.setenv("GPUENT_MEMORY_LIMIT", bad)
        with pytest.raises(ValueError, match="GPUENT_MEMORY_LIMIT"):
            memory_limit()


def test_refusal_is_a_value_and_memory_error(monkeypatch):
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "1M")
    assert check_allocation(2**20, "x") == 2**20
    with pytest.raises(MemoryLimitError, match="needs about 2.0 MiB.*1.0 MiB.*do less"):
        check_allocation(2**21, "x", "do less")
    assert issubclass(MemoryLimitError, ValueError) and issubclass(MemoryLimitError, MemoryError)


@pytest.mark.parametrize("call", [
    lambda img: gpuent.local_entropy(img, 1),
    lambda img: gpuent.local_renyi_entropy(img, 2.0, 1),
    lambda img: gpuent.local_expected(img, lambda p: p, 1),
    lambda img: gpuent.local_mean(img, 1),
    lambda img: gpuent.local_std(img, 1),
    lambda img: gpuent.gaussian_blur(img, 1.0),
    lambda img: gpuent.local_entropy(img, 10**6),  # the window alone is refused
    lambda img: gpuent.footprints.disk(10**6),
    lambda img: gpuent.ising.torus((10**6, 10**6)),
    lambda img: gpuent.ising.letters_image((10**6, 10**6)),
])
def test_entry_points_refuse_above_the_limit(monkeypatch, call):
    img = np.zeros((300, 300), np.uint8)  # 90 kpix: a map needs a few MiB
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "256K")
    with pytest.raises(MemoryLimitError, match="memory limit"):
        call(img)


def test_entry_points_work_below_the_limit(monkeypatch):
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "64M")
    img = np.random.default_rng(0).integers(0, 9, (300, 300)).astype(np.uint8)
    monkeypatch.delenv("GPUENT_MEMORY_LIMIT")
    ref = gpuent.local_entropy(img, 2)
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "64M")
    assert np.array_equal(gpuent.local_entropy(img, 2), ref)


def test_cli_says_what_to_do(monkeypatch, tmp_path, capsys):
    src = tmp_path / "a.npy"
    np.save(src, np.zeros((300, 300), np.uint8))
    monkeypatch.setenv("GPUENT_MEMORY_LIMIT", "256K")
    assert main(["entropy", str(src), "-r", "1", "-o", str(tmp_path / "m.png"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "GPUENT_MEMORY_LIMIT" in err[0] and "stream" in err[0], err


def test_huge_radius_is_bounded_by_the_image_or_refused():
    """Found by `make fuzz`: a radius of 1e9 allocated index maps of 2e9 entries (OOM)."""
    import gpuent as ge
    from gpuent._memory import MemoryLimitError

    a = np.arange(64.0).reshape(8, 8)
    assert np.array_equal(ge.local_std(a, 10**9), ge.local_std(a, 7))  # clip: the image
    with pytest.raises(MemoryLimitError, match="index map"):
        ge.local_std(a, 10**9, mode="reflect")


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap"])
def test_radius_beyond_int64_is_refused_before_window_arithmetic(mode):
    """Found by `make fuzz`: local_mean([False], 2**63 - 1, mode="reflect") overflowed int64
    while counting window pixels (OverflowError) instead of refusing the radius."""
    import gpuent as ge
    from gpuent._memory import MemoryLimitError

    for fn in (ge.local_mean, ge.local_std):
        with pytest.raises(MemoryLimitError, match="index map"):
            fn(np.array([False]), 2**63 - 1, mode=mode)
