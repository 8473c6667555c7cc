"""A real browser (Debian's chromium with Selenium) drives the page as a person would.

Skipped on a machine without chromium or Selenium; under CI a failure. With `CCHC_SCREENSHOTS=DIR` the
pages' screenshots are kept there (docs/screenshots/ holds the README's)."""

import os
import shutil
import threading
import time
import zipfile
from pathlib import Path

import pytest

from conftest import IN_CI, ROOT

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SAMPLES = ROOT / "samples"


def _requirements():
    try:
        import selenium  # noqa: F401
        import waitress  # noqa: F401
    except ImportError:
        return "selenium or waitress is not installed"
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        return "chromium and chromium-driver are not installed"
    return None


MISSING = _requirements()
pytestmark = pytest.mark.skipif(bool(MISSING) and not IN_CI, reason=MISSING or "")


@pytest.fixture
def server(tmp_path):
    from cchc_excel.web.server import make_server, stop, url_of

    srv = make_server(tmp_path / "ws", "127.0.0.1", 0)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield url_of(srv)
    stop(srv)
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900", "--lang=vi"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def shoot(driver, name):
    folder = os.environ.get("CCHC_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        # The window's size includes the browser's own bars: add them, or the page's foot is cut off.
        height = driver.execute_script("return document.documentElement.scrollHeight"
                                       " + window.outerHeight - window.innerHeight")
        driver.set_window_size(1280, min(max(height, 600), 1800))
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
        driver.set_window_size(1280, 900)


def wait_for(predicate, timeout=60.0):
    """The first true value of `predicate`, retried while the page is still loading (elements missing or
    gone stale under a navigation)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got = predicate()
        except (NoSuchElementException, StaleElementReferenceException):
            got = None
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out")


def downloaded(driver, suffix):
    def done():
        files = [p for p in driver.downloads.iterdir() if p.name.endswith(suffix)]
        return files[0] if files and not list(driver.downloads.glob("*.crdownload")) else None

    return wait_for(done)


def test_main_flow_in_a_real_browser(server, browser):
    """Start a period, upload the roster and the sample returns, see the statuses, open a unit with errors,
    download its feedback and the merged workbook."""
    from selenium.webdriver.common.by import By

    def find(css):
        return browser.find_element(By.CSS_SELECTOR, css)

    browser.get(server)
    assert "Kỳ báo cáo" in browser.title
    shoot(browser, "1-ky-bao-cao")
    find("#roster-file").send_keys(str(SAMPLES / "roster.csv"))
    find("#roster-submit").click()
    assert "19 đơn vị" in wait_for(lambda: find(".flash.ok").text)
    find("#period").send_keys("2023-Q2")
    find("#period-submit").click()
    wait_for(lambda: "Nhận báo cáo kỳ 2023-Q2" in find("h1").text)

    returns = sorted(str(p) for p in (SAMPLES / "returns").iterdir())
    find("#files").send_keys("\n".join(returns))
    find("#upload-submit").click()
    wait_for(lambda: find("#progress-text").text == f"Đã kiểm tra {len(returns)} tệp.", timeout=120)
    rows = browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    assert len(rows) == 17 and any("Có lỗi" in r.text for r in rows)
    shoot(browser, "2-nhan-bao-cao")

    find("nav a[href$='/status']").click()
    table = wait_for(lambda: find("#units").text)
    assert "Chưa nộp" in table and "Có lỗi" in table and "Phường Bồng Sơn" in table
    shoot(browser, "3-tinh-hinh")

    find("tr.st-errors td a").click()
    wait_for(lambda: find("table.findings"))
    assert "Lỗi" in find("table.findings").text
    shoot(browser, "4-don-vi")
    find("a.feedback").click()
    feedback = downloaded(browser, ".xlsx")
    assert zipfile.is_zipfile(feedback) and "xl/workbook.xml" in zipfile.ZipFile(feedback).namelist()
    feedback.unlink()

    find("nav a[href$='/merged']").click()
    wait_for(lambda: find("#dl-merged"))
    shoot(browser, "5-tong-hop")
    find("#dl-merged").click()
    merged = downloaded(browser, ".xlsx")
    assert merged.name == "merged_2023-Q2.xlsx"
    import openpyxl

    book = openpyxl.load_workbook(merged, read_only=True)
    assert len(book.sheetnames) >= 7

