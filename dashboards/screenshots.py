"""Log in to Superset with Debian's headless Chromium and screenshot every dashboard (run in ``.venv-superset``,
which has selenium). Prints one JSON line per dashboard: slug, charts found, charts rendered, error alerts, file.

    python dashboards/screenshots.py URL USER OUT_DIR SLUG [SLUG ...]    (password in SUPERSET_SCREENSHOT_PASSWORD)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def driver(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1600,2400", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)


def main(argv: list[str]) -> int:
    from selenium.webdriver.common.by import By

    base, user, out_dir, slugs = argv[0].rstrip("/"), argv[1], Path(argv[2]), argv[3:]
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        browser = driver(profile)
        try:
            browser.get(f"{base}/login/")
            browser.find_element(By.ID, "username").send_keys(user)
            browser.find_element(By.ID, "password").send_keys(os.environ["SUPERSET_SCREENSHOT_PASSWORD"])
            browser.find_element(By.CSS_SELECTOR, "[type=submit]").click()
            time.sleep(2)
            for slug in slugs:
                browser.get(f"{base}/superset/dashboard/{slug}/?standalone=1")
                deadline = time.monotonic() + 90
                charts = rendered = 0
                while time.monotonic() < deadline:
                    holders = browser.find_elements(By.CSS_SELECTOR, ".dashboard-component-chart-holder")
                    charts = len(holders)
                    loading = browser.find_elements(By.CSS_SELECTOR, ".dashboard-component-chart-holder .loading")
                    rendered = len(
                        browser.find_elements(
                            By.CSS_SELECTOR,
                            ".dashboard-component-chart-holder canvas, .dashboard-component-chart-holder svg, "
                            ".dashboard-component-chart-holder table, .dashboard-component-chart-holder .header-line",
                        )
                    )
                    if charts and not loading:
                        break
                    time.sleep(1)
                time.sleep(2)  # animations
                per_chart = [
                    bool(
                        h.find_elements(
                            By.CSS_SELECTOR, "canvas, svg, table, .header-line, .big-number, [class*='BigNumber']"
                        )
                    )
                    for h in browser.find_elements(By.CSS_SELECTOR, ".dashboard-component-chart-holder")
                ]
                alerts = [
                    e.text[:200]
                    for e in browser.find_elements(By.CSS_SELECTOR, "[role=alert], .ant-alert-error, .alert-danger")
                    if e.text.strip()
                ]
                shot = out_dir / f"{slug}.png"
                browser.save_screenshot(str(shot))
                print(
                    json.dumps(
                        {
                            "slug": slug,
                            "charts": charts,
                            "rendered": sum(per_chart),
                            "alerts": alerts,
                            "file": str(shot),
                            "title": browser.title,
                        }
                    ),
                    flush=True,
                )
                del rendered
        finally:
            browser.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
