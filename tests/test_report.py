"""The Snakemake report of the smoke run opens in headless Chromium and shows every figure."""

import numpy as np
import pytest
from PIL import Image

from conftest import run_snakemake
from lskd import report_check
from lskd.workflow import targets

pytestmark = pytest.mark.workflow


def test_report_opens_in_chromium_with_every_figure(smoke_run):
    run_snakemake(smoke_run, "--report", "results/report.html", configfile=smoke_run / "smoke.yaml")
    report = smoke_run / "results" / "report.html"
    assert report.stat().st_size > 100_000
    sizes = report_check.check(report, smoke_run / "report.png")
    assert set(sizes) == {f"results/figures/{f}.png" for f in targets.FIGURES}
    assert all(w > 100 and h > 100 for w, h in sizes.values()), sizes
    for shot in ("report.png", "report_figures.png"):
        pixels = np.asarray(Image.open(smoke_run / shot).convert("L"))
        assert pixels.std() > 10, f"{shot} looks blank"
    text = report.read_text()
    for fig in targets.FIGURES:  # every figure has a caption from workflow/report/
        assert f'"results/figures/{fig}.png": {{"name": "{fig}.png"' in text
