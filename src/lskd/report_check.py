"""Open the Snakemake report in headless Chromium: screenshot it and check that every embedded
figure decodes as an image in the browser.

    python -m lskd.report_check results/report.html results/report.png [CATEGORY]

CATEGORY: the report's category whose page is shot (default Figures); where the start page does
not show it (the partial target's report), its Results menu.
"""

import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# no connections out: this machine (and CI) has no network, and Chromium would keep trying
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

DECODE_FIGURES = """async () => {
  const out = {};
  for (const [path, result] of Object.entries(window.results)) {
    if (!result.data_uri || !result.data_uri.startsWith("data:image/png")) continue;
    const img = new Image();
    img.src = result.data_uri;
    try { await img.decode(); out[path] = [img.naturalWidth, img.naturalHeight]; }
    catch (e) { out[path] = [0, 0]; }
  }
  return out;
}"""


def check(report: str | Path, screenshot: str | Path, category="Figures") -> dict[str, list[int]]:
    """{figure path: [width, height]} as Chromium decoded it; writes a full-page screenshot and
    one of the report's Figures page beside it (``*_figures.png``)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(Path(report).resolve().as_uri(), wait_until="load")
            page.wait_for_timeout(500)  # the report's React app renders after load
            page.screenshot(path=str(screenshot), full_page=True)
            sizes = page.evaluate(DECODE_FIGURES)
            shown = page.locator(f"text={category}")  # the list of its results, with captions
            (shown if shown.count() else page.locator("text=Results")).first.click()
            page.wait_for_timeout(300)
            shot = Path(screenshot)
            page.screenshot(path=str(shot.with_name(shot.stem + "_figures" + shot.suffix)))
            return sizes
        finally:
            browser.close()


def main(argv=None) -> int:
    report, screenshot, *category = (argv or sys.argv[1:])[:3]
    sizes = check(report, screenshot, *category)
    broken = [p for p, (w, h) in sizes.items() if not (w and h)]
    for path, (w, h) in sorted(sizes.items()):
        print(f"{path}: {w}x{h}")
    print(f"{len(sizes) - len(broken)} of {len(sizes)} figures decoded; screenshot {screenshot}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
