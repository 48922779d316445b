"""Headless Chromium opens the index and a readout: no console errors, no network.

Uses Debian's ``chromium`` package, installed here when missing (as root, with
apt-get); the test skips, saying why, only where it cannot be installed.
Screenshots are saved under ``outputs/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shopcx.run.config import load_run_config
from shopcx.run.runner import plan_run, run

from .conftest import tiny_tables, write_tables

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "outputs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("Chromium is not installed and this user cannot apt-get install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                                timeout=900)
        if result.returncode:
            pytest.skip(f"could not install Chromium ({' '.join(cmd)}): "
                        f"{result.stderr.strip()[-300:]}")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium but no chromium command was found")
    return found


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    executable = _chromium()
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shots")
    data = write_tables(tiny_tables(), root / "data", "parquet")
    config = load_run_config(data=str(data), markets=["US"], start="2026-10-01",
                             end="2026-11-01", out=str(root / "out"), workers=2, min_sample=2,
                             notebooks=["summary", "funnel"])
    summary = run(plan_run(config, ROOT / "notebooks"), progress=False)
    assert summary.exit_status == 0
    return root / "out"


@pytest.mark.parametrize(("page", "size"), [("index.html", (1400, 900)),
                                            ("US/funnel.html", (1200, 900))])
def test_page_renders_cleanly(browser, pages: Path, page: str, size: tuple[int, int]) -> None:
    tab = browser.new_page(viewport={"width": size[0], "height": size[1]})
    problems: list[str] = []
    requests: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto((pages / page).as_uri())
    tab.wait_for_load_state("load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (page.replace("/", "-").replace(".html", ".png"))
    tab.screenshot(path=str(shot), full_page=page != "index.html")
    assert problems == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    assert shot.stat().st_size > 10_000
    if page == "index.html":
        # the scorecard sorts: clicking a KPI header orders the rows by it
        tab.click("th:nth-child(3)")
        assert "sorted-" in (tab.get_attribute("th:nth-child(3)", "class") or "")
    tab.close()
