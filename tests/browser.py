"""Headless Chromium for the report tests: Debian's /usr/bin/chromium driven by Selenium through /usr/bin/chromedriver.

Never a browser download: without the Debian packages (``apt-get install chromium chromium-driver fonts-noto-cjk``)
the tests marked ``needs_chromium`` skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = os.environ.get("FINCARD_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("FINCARD_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars")


def missing() -> str:
    """Why there is no headless browser here, or "" when there is one."""
    absent = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if not absent:
        return ""
    return f"no headless browser: {', '.join(absent)} not installed (apt-get install chromium chromium-driver fonts-noto-cjk)"


needs_chromium = pytest.mark.skipif(bool(missing()), reason=missing())


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator["selenium.webdriver.Chrome"]:
    """A fresh headless Chromium (its own profile folder) that records the page's console messages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="fincard-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def console_errors(driver) -> list[str]:
    """The console's errors so far (a page error, a CSP violation, a failed load)."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
