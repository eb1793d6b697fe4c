"""The web survey page in a real headless Chromium on a phone-sized screen (390×844), driven by Selenium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them and sets
``HUIFANG_REQUIRE_BROWSER=1``, so in CI a missing browser fails instead of skipping). With
``HUIFANG_SCREENSHOTS=1`` the screens are written to ``docs/screens/`` (the README shows them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Container
from bot.domain.lifecycle import SurveyStatus
from storage.models import Answer, Customer, Survey
from tests.e2e.web_harness import issue, seed_customer, web_server_thread

pytestmark = pytest.mark.once  # the page's database side runs on PostgreSQL in test_web_survey.py

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
SCREENS = Path(__file__).resolve().parents[2] / "docs" / "screens"
WIDTH, HEIGHT = 390, 844

if not (CHROMIUM and DRIVER) and os.environ.get("HUIFANG_REQUIRE_BROWSER") != "1":
    pytest.skip(
        "chromium and chromium-driver are not installed (apt install chromium chromium-driver)", allow_module_level=True
    )


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM and DRIVER, "chromium and chromium-driver must be installed (HUIFANG_REQUIRE_BROWSER=1)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN"):
        options.add_argument(argument)
    # A phone's screen (headless windows are at least 500 px wide, so the page is emulated at 390×844).
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": WIDTH, "height": HEIGHT, "pixelRatio": 2}}
    )
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


class Phone:
    """A person's phone: what they see and what they tap."""

    def __init__(self, driver: object, shots: Path) -> None:
        self.d = driver
        self.shots = shots

    @property
    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.d.find_element(By.TAG_NAME, "body").text)  # type: ignore[attr-defined]

    def tap(self, label: str) -> None:
        """Tap a button and wait for the next page."""
        from selenium.webdriver.common.by import By

        self.navigating(lambda: self.d.find_element(By.XPATH, f"//button[normalize-space()='{label}']").click())  # type: ignore[attr-defined]

    def tick(self, label: str) -> None:
        """Tick a checkbox (no page change)."""
        from selenium.webdriver.common.by import By

        self.d.find_element(By.XPATH, f"//label[normalize-space()='{label}']").click()  # type: ignore[attr-defined]

    def navigating(self, action: Callable[[], object]) -> None:
        """Do ``action`` and wait until the page it leads to has replaced this one (loaded in full)."""
        from selenium.webdriver.support.ui import WebDriverWait

        self.d.execute_script("window.__before = true")  # type: ignore[attr-defined]
        action()
        WebDriverWait(self.d, 10).until(
            lambda d: d.execute_script("return !window.__before && document.readyState === 'complete'")
        )

    def type(self, name: str, text: str) -> None:
        from selenium.webdriver.common.by import By

        field = self.d.find_element(By.NAME, name)  # type: ignore[attr-defined]
        field.clear()
        field.send_keys(text)

    def fits_the_screen(self) -> bool:
        """Nothing wider than the screen: no sideways scrolling on a phone."""
        width = self.d.execute_script("return document.documentElement.scrollWidth")  # type: ignore[attr-defined]
        inner = self.d.execute_script("return window.innerWidth")  # type: ignore[attr-defined]
        return bool(width <= inner)

    def shot(self, name: str) -> None:
        assert self.fits_the_screen(), f"{name}: the page is wider than the screen"
        self.d.save_screenshot(str(self.shots / f"{name}.png"))  # type: ignore[attr-defined]


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("HUIFANG_SCREENSHOTS") == "1":
        SCREENS.mkdir(parents=True, exist_ok=True)
        return SCREENS
    return tmp_path


def _answers(app: Container, survey_id: int) -> list[tuple[str, str, int | None, str | None]]:
    with app.uow(read_only=True) as uow:
        rows = uow.session.scalars(select(Answer).where(Answer.survey_id == survey_id).order_by(Answer.id))
        return [(a.question_id, a.option_code, a.rating, a.free_text) for a in rows]


def test_a_customer_answers_every_kind_of_question_on_a_phone_through_reloads_double_taps_and_old_tabs(
    app: Container, browser: object, shots: Path
) -> None:
    customer_id, survey_id = seed_customer(app, "every_kind")
    token = issue(app, survey_id)
    d = browser
    phone = Phone(d, shots)
    with web_server_thread(app) as base:
        link = f"{base}/s/{token}"
        d.get(link)  # type: ignore[attr-defined]
        assert "王先生您好" in phone.text and "惠州江铃4S店" in phone.text and "13800138000" not in phone.text
        phone.shot("01-consent")
        phone.tap("开始")
        assert "第 1 题" in phone.text
        phone.shot("02-single-choice")
        d.refresh()  # type: ignore[attr-defined]
        assert "第 1 题" in phone.text  # a reload stays at the question, records nothing
        phone.tap("可以")
        assert "谢谢！一共只有几个问题。" in phone.text and "最看重哪些方面" in phone.text
        phone.tick("价格")
        phone.tick("服务")
        phone.shot("03-message-and-multiple-choice")
        phone.tap("确认")
        assert "推荐给朋友" in phone.text
        phone.shot("04-rating")
        # A double tap on a score: two posts of the same form; the second finds the question answered.
        phone.navigating(
            lambda: d.execute_script(  # type: ignore[attr-defined]
                "const b=[...document.querySelectorAll('button.score')].find(x=>x.textContent.trim()==='9');"
                "b.click(); b.click();"
            )
        )
        assert "还有什么想对我们说的吗" in phone.text or "已经回答过了" in phone.text
        d.get(link)  # type: ignore[attr-defined]
        assert "还有什么想对我们说的吗" in phone.text and "最多50字" in phone.text
        # An old tab: the same question open in a second tab, answered in the first.
        first = d.current_window_handle  # type: ignore[attr-defined]
        d.switch_to.new_window("tab")  # type: ignore[attr-defined]
        d.get(link)  # type: ignore[attr-defined]
        old_tab = d.current_window_handle  # type: ignore[attr-defined]
        d.switch_to.window(first)  # type: ignore[attr-defined]
        phone.type("text", "<script>alert('x')</script>服务很好")
        phone.shot("05-free-text")
        phone.tap("提交")
        assert "什么时候给您回个电话" in phone.text
        phone.shot("06-callback-time")
        d.switch_to.window(old_tab)  # type: ignore[attr-defined]
        phone.type("text", "另一个标签页里的回答")
        phone.tap("提交")
        assert "已经回答过了" in phone.text and "什么时候给您回个电话" in phone.text
        phone.shot("07-stale-answer-note")
        d.close()  # type: ignore[attr-defined]
        d.switch_to.window(first)  # type: ignore[attr-defined]
        phone.navigating(d.back)  # type: ignore[attr-defined]  # the back button shows where the survey stands
        assert "还有什么想对我们说的吗" not in phone.text
        d.get(link)  # type: ignore[attr-defined]
        from selenium.webdriver.common.by import By

        phone.navigating(d.find_elements(By.CSS_SELECTOR, "button[name=slot]")[0].click)  # type: ignore[attr-defined]
        closing = phone.text
        assert "感谢王先生" in closing and "<script>alert('x')</script>服务很好" in closing  # shown, not run
        phone.shot("08-closing-words")
        phone.navigating(d.find_element(By.LINK_TEXT, "退订（以后不再联系我）").click)  # type: ignore[attr-defined]
        assert "确认退订" in phone.text
        phone.shot("09-opt-out-confirm")
        phone.tap("确认退订")
        assert "您已退订" in phone.text
        phone.shot("10-opted-out")
    assert _answers(app, survey_id) == [
        ("opening", "agree", None, None),
        ("reasons", "price", None, None),
        ("reasons", "service", None, None),
        ("score", "", 9, None),
        ("remarks", "", None, "<script>alert('x')</script>服务很好"),
        ("when", "", None, None),
    ]
    with app.uow(read_only=True) as uow:
        survey = uow.session.get(Survey, survey_id)
        customer = uow.session.get(Customer, customer_id)
        assert survey is not None and survey.status == SurveyStatus.CANCELLED
        assert customer is not None and customer.opted_out_at is not None


def test_an_expired_or_unknown_link_shows_a_clear_page_on_a_phone(app: Container, browser: object, shots: Path) -> None:
    _, survey_id = seed_customer(app, "defeat")
    token = issue(app, survey_id, days=1)
    phone = Phone(browser, shots)
    with web_server_thread(app) as base:
        browser.get(f"{base}/s/{'x' * 22}")  # type: ignore[attr-defined]
        assert "链接无效" in phone.text
        app.clock.set(app.clock.now() + timedelta(days=2))  # type: ignore[attr-defined]
        browser.get(f"{base}/s/{token}")  # type: ignore[attr-defined]
        assert "链接已过期" in phone.text
        phone.shot("11-expired-link")
