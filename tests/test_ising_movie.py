import numpy as np
import pytest
from PIL import Image

from gpuent import ising


def _frames(n=7, shape=(24, 32)):
    rng = np.random.default_rng(0)
    return [(rng.random(shape) > 0.5).astype(np.uint8) * 255 for _ in range(n)]


@pytest.mark.parametrize("ext", [".gif", ".png", ".webp"])
def test_movie_opens_with_right_frame_count_and_size(tmp_path, ext):
    path = tmp_path / f"m{ext}"
    ising.write_movie(_frames(), path, fps=10)
    with Image.open(path) as im:
        assert im.size == (32, 24)
        assert getattr(im, "n_frames", 1) == 7
    side = [path.name + ".json"] if ext == ".webp" else []  # the provenance sidecar
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name] + side)


def test_mp4_when_imageio_ffmpeg_is_installed(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    path = tmp_path / "m.mp4"
    ising.write_movie(_frames(5), path, fps=5)
    assert path.stat().st_size > 0
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert tuple(meta["size"]) == (32, 24)
    assert sum(1 for _ in reader) == 5


def test_simulation_streams_frames_to_a_movie(tmp_path):
    m = ising.torus((32, 40), init="random", seed=1)
    path = tmp_path / "run.gif"
    sim = ising.Simulation(m, seed=2)
    tr = sim.run(12, beta=0.3, frames=3, movie=path)
    assert tr.frame_count == 4 and tr.frames is None
    with Image.open(path) as im:
        assert im.size == (40, 32) and im.n_frames == 4
        im.seek(3)
        assert np.array_equal(np.asarray(im.convert("L")), ising.spins_to_frame(sim.spins))


def test_frames_in_memory_and_downscale():
    sim = ising.Simulation(ising.torus((16, 16), init="up"), seed=0)
    tr = sim.run(4, beta=0.1, frames=2, downscale=4)
    assert len(tr.frames) == 2 and tr.frames[0].shape == (4, 4)
    assert tr.frames[0].dtype == np.uint8
    assert ising.spins_to_frame(np.array([[-1, 1]], np.int8)).tolist() == [[0, 255]]


def test_interrupt_leaves_a_valid_movie(tmp_path):
    path = tmp_path / "cut.gif"
    sim = ising.Simulation(ising.torus((16, 16), init="random"), seed=0)
    engine_sweep = sim._engine.sweep
    calls = []

    def sweep(t, table):
        calls.append(t)
        if len(calls) == 6:
            raise KeyboardInterrupt
        engine_sweep(t, table)

    sim._engine.sweep = sweep
    with pytest.raises(KeyboardInterrupt):
        sim.run(100, beta=0.2, frames=1, movie=path)
    with Image.open(path) as im:
        assert im.n_frames == 5


def test_bad_movie_arguments(tmp_path):
    with pytest.raises(ValueError):
        ising.write_movie(_frames(), tmp_path / "m.avi")
    with pytest.raises(OSError):
        ising.write_movie(_frames(), tmp_path / "no" / "dir.gif")
    with pytest.raises(ValueError):
        ising.write_movie([], tmp_path / "empty.gif")
    assert not (tmp_path / "empty.gif").exists()
    with pytest.raises(ValueError):
        ising.write_movie([np.zeros((4, 4)), np.zeros((4, 4))], tmp_path / "f.gif")
    assert list(tmp_path.iterdir()) == []
