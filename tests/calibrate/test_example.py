"""examples/calibrate_obd.py runs end to end on the bundled OBD sample."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_calibrate_obd_example(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("calibrate_obd", ROOT / "examples" / "calibrate_obd.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert "calibrated world: 80 items, 3 slots" in out and "do not show that examination differs" in out
    for name in ("obd.npz", "analysis.md", "fidelity.html", "fidelity.md"):
        assert (tmp_path / name).exists(), name
