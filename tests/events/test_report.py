"""The data realism report on small generated files."""

from __future__ import annotations

import numpy as np

from events.e2e import write_e2e
from events.jetnet import jet_arrays, write_jetnet
from events.pythia import JetSourceOptions, generate_jets
from events.report import main


def test_report_tables_and_plots(tmp_path):
    for jet_type in "gt":
        jets = generate_jets(JetSourceOptions(jet_type=jet_type), 8, seed=3)
        provenance = '{"radius": 0.4}' if jet_type == "g" else None  # t: as a JetNet download
        write_jetnet(tmp_path / f"{jet_type}.hdf5", *jet_arrays(jets), provenance=provenance)
    images = np.zeros((4, 3, 125, 125), dtype=np.float32)
    images[:, 2, 60:65, 60:65] = 10.0  # one HCAL tower of 10 GeV, stored upsampled
    images[:, 1, 62, 62] = 5.0
    write_e2e(tmp_path / "calo.h5", images, {"pt": np.ones(4), "m0": np.ones(4), "y": np.ones(4)})

    out = tmp_path / "report"
    jets = [str(tmp_path / "g.hdf5"), str(tmp_path / "t.hdf5")]
    assert (
        main(["--jets", *jets, "--calorimeter", str(tmp_path / "calo.h5"), "--out", str(out)]) == 0
    )
    report = (out / "report.md").read_text()
    table = [line.split("|") for line in report.splitlines() if line.startswith("| ")]
    rows = {cells[1].strip(): cells for cells in table}
    assert rows["g"][2].strip() == "8" and rows["t"][2].strip() == "8"
    assert rows["g"][3].strip() == "0.4" and rows["t"][3].strip() == "—"  # the jet radius
    assert float(rows["g"][4]) > 0 and float(rows["t"][4]) > 0  # FPND to the real JetNet class
    assert "| ≈ 90 |" in report  # gluon multiplicity before the cut, next to the reference
    assert "| HCAL | 1 [1, 1] | 10 [10, 10] |" in report  # towers, not upsampled pixels
    assert "| ECAL | 1 [1, 1] | 5 [5, 5] |" in report
    assert (out / "jets.png").stat().st_size > 0 and (out / "calorimeter.png").stat().st_size > 0


def test_missing_input_is_one_line(tmp_path, capsys):
    assert main(["--jets", str(tmp_path / "nope.hdf5"), "--out", str(tmp_path / "r")]) == 2
    assert "no such JetNet file" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
