"""examples/calibrate_obd.py runs end to end on the bundled OBD sample."""

from __future__ import annotations

from tests._env import load_script


def test_calibrate_obd_example(tmp_path, capsys):
    mod = load_script("examples/calibrate_obd.py")
    mod.main(["-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert "calibrated world: 80 items, 3 slots" in out and "do not show that examination differs" in out
    for name in ("obd.npz", "analysis.md", "fidelity.html", "fidelity.md"):
        assert (tmp_path / name).exists(), name
