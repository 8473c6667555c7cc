"""A real browser fills the "Gửi biểu mẫu" page and sends the templates to an SMTP server on loopback
(aiosmtpd), as a person would. Skipped like `test_web_browser` on a machine without chromium; with
`CCHC_SCREENSHOTS=DIR` the page's screenshot is kept there (docs/screenshots/6-gui-bieu-mau.png)."""

import zipfile

import pytest

from test_distribute import server as smtp  # noqa: F401 (fixture: the SMTP server)
from test_web_browser import MISSING, SAMPLES, browser, downloaded, server, shoot, wait_for  # noqa: F401
from conftest import IN_CI

pytestmark = pytest.mark.skipif(bool(MISSING) and not IN_CI, reason=MISSING or "")

SENDER = "Phòng Nội vụ thị xã Hoài Nhơn <noivu@hoainhon.example.vn>"


def test_send_the_templates_from_the_page(server, browser, smtp):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    def find(css):
        return browser.find_element(By.CSS_SELECTOR, css)

    def fill(css, value):
        find(css).clear()
        find(css).send_keys(value)

    browser.get(server)
    find("#roster-file").send_keys(str(SAMPLES / "roster.csv"))
    find("#roster-submit").click()
    assert "19 đơn vị" in wait_for(lambda: find(".flash.ok").text)
    find("#period").send_keys("2023-Q2")
    find("#period-submit").click()
    find_nav = wait_for(lambda: find("nav a[href$='/send']"))
    find_nav.click()
    wait_for(lambda: "Gửi biểu mẫu kỳ 2023-Q2" in find("h1").text)
    assert find("#deadline").get_attribute("value") == "20/06/2023"

    Select(find("#unit")).select_by_value("540")
    find("#dl-templates").click()
    books = zipfile.ZipFile(downloaded(browser, ".zip"))
    assert len(books.namelist()) == 17 and "22240_phuong-tam-quan-bac_2023-Q2.xlsx" in books.namelist()

    fill("#sender", SENDER)
    fill("#contact", "Chị Lan, Phòng Nội vụ, 0256 3861 234")
    fill("#smtp-host", "127.0.0.1")
    fill("#smtp-port", str(smtp.settings.port))
    Select(find("#security")).select_by_value("none")
    find("#send-submit").click()
    result = wait_for(lambda: find("#send-result").text, timeout=120)
    assert "Đã gửi: 16" in result and "Không có email: 1" in result and "Xã Hoài Sơn" in result
    assert len(smtp.messages) == 16 and "Đã gửi 16 thư." in find(".flash.ok").text
    shoot(browser, "6-gui-bieu-mau")

    find("#send-submit").click()  # again: nothing is sent twice
    wait_for(lambda: "Đã gửi từ trước: 16" in find("#send-result").text, timeout=120)
    assert len(smtp.messages) == 16
