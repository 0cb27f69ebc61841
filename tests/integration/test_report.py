"""`expansion report`: the HTML report opens in headless Chromium with every chart drawn and no script error.

Chromium comes from Debian (`make tools` installs it); without it these tests fail, never skip, like the Prism
fixtures. The check loads the page from disk with the network unused (everything is inlined), lets the charts
render within a virtual time budget, and reads back the DOM: each chart's container must be marked rendered by
vega-embed's promise and hold a non-empty SVG.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestration.run import cli

CHARTS = ("chart-bridge", "chart-movements", "chart-retention", "chart-pairs", "chart-triggers", "chart-lift")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Chromium is not installed: `make tools` installs it (apt-get install -y chromium).",
                    pytrace=False)
    return path


def open_in_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Chromium, headless, on `page` with a fresh profile, its console on stderr."""
    profile.mkdir(parents=True, exist_ok=True)
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
               "--enable-logging=stderr", "--v=0", *extra, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@dataclass
class ChartState:
    attributes: dict[str, str]
    svg_elements: int = 0  # drawn elements (paths, rects, text, symbols) inside the chart's svg


@dataclass
class RenderedPage(HTMLParser):
    """The rendered DOM: each chart container's attributes and how much SVG it holds."""

    charts: dict[str, ChartState] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)
    _open: list[tuple[str, str | None]] = field(default_factory=list)  # (tag, chart id it opened)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "body":
            self.body = values
        chart = values.get("id") if values.get("id", "").startswith("chart-") else None
        if chart:
            self.charts[chart] = ChartState(values)
        inside = next((opened for _, opened in reversed(self._open) if opened), None)
        if inside and tag in {"path", "rect", "text", "line", "circle", "symbol"}:
            self.charts[inside].svg_elements += 1
        if tag not in {"meta", "br", "img", "input", "link", "hr"}:
            self._open.append((tag, chart))

    def handle_endtag(self, tag: str) -> None:
        for position in range(len(self._open) - 1, -1, -1):
            if self._open[position][0] == tag:
                del self._open[position:]
                return


def rendered(page: Path, profile: Path) -> tuple[RenderedPage, str]:
    completed = open_in_chromium(page, profile, "--dump-dom")
    assert completed.returncode == 0, completed.stderr[-2000:]
    parsed = RenderedPage()
    parsed.feed(completed.stdout)
    return parsed, completed.stderr


def script_errors(console: str) -> list[str]:
    return [line for line in console.splitlines()
            if "Uncaught" in line or ("CONSOLE" in line and "error" in line.lower())]


def undrawn_charts(page: RenderedPage) -> list[str]:
    return [chart for chart in CHARTS
            if chart not in page.charts or page.charts[chart].attributes.get("data-rendered") != "true"
            or "data-error" in page.charts[chart].attributes or page.charts[chart].svg_elements < 3]


@pytest.fixture(scope="module")
def report(built_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    assert cli.main(["report", "--warehouse", str(built_warehouse), "--out", str(out)]) == 0
    return out / "index.html"


@pytest.mark.slow
def test_every_chart_renders_in_headless_chromium_without_script_errors(report: Path, tmp_path: Path) -> None:
    page, console = rendered(report, tmp_path / "profile")
    assert page.body.get("data-charts") == "done", "the charts' promises did not settle within the time budget"
    assert undrawn_charts(page) == []
    assert script_errors(console) == []


@pytest.mark.slow
def test_the_page_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert "<script src" not in text and "cdn.jsdelivr" not in text  # vega, vega-lite, vega-embed are inlined
    assert "vegaEmbed" in text and text.count('class="chart"') == len(CHARTS)


@pytest.mark.slow
def test_the_check_fails_on_a_broken_chart(report: Path, tmp_path: Path) -> None:
    """The same page with one specification broken: that chart is reported, so the check above can fail."""
    broken = tmp_path / "broken.html"
    text = report.read_text(encoding="utf-8")
    start = text.index('"id": "chart-pairs", "spec": {')
    mark = text.index('"mark": {"type": "bar"', start)
    broken.write_text(text[:mark] + '"mark": {"type": "no_such_mark"' + text[mark + len('"mark": {"type": "bar"'):],
                      encoding="utf-8")
    page, console = rendered(broken, tmp_path / "profile")
    assert undrawn_charts(page) == ["chart-pairs"]
    assert "data-error" in page.charts["chart-pairs"].attributes or script_errors(console)


@pytest.mark.slow
def test_the_screenshot_command_of_the_readme_writes_a_picture(report: Path, tmp_path: Path) -> None:
    picture = tmp_path / "report.png"
    completed = open_in_chromium(report, tmp_path / "profile", "--hide-scrollbars", "--window-size=1100,4400",
                                 f"--screenshot={picture}")
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 50_000


@pytest.mark.parametrize("make_warehouse", ["missing", "directory", "not_duckdb", "no_marts"])
def test_an_unreadable_warehouse_is_one_sentence_and_exit_status_2(make_warehouse: str, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import duckdb

    warehouse = tmp_path / "w.duckdb"
    if make_warehouse == "directory":
        warehouse.mkdir()
    elif make_warehouse == "not_duckdb":
        warehouse.write_text("not a database")
    elif make_warehouse == "no_marts":
        duckdb.connect(str(warehouse)).close()
    code = cli.main(["report", "--warehouse", str(warehouse), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert code == 2
    message = captured.err.strip()
    assert message.startswith(f"expansion: The warehouse {warehouse} ") and message.endswith(".")
    assert "\n" not in message and "Traceback" not in captured.err
    assert not (tmp_path / "out" / "index.html").exists()
