"""The front door of a running service, in a real browser (Debian's
headless Chromium, driven by selenium): `/` names the service and leads to
`/docs`, where Swagger UI lists the operations of every API family and
"Try it out" on get_player_info answers the demo player. The screenshots
are saved under test-artifacts/ (or TEST_ARTIFACTS).
TEST_SKIP_BROWSER=1 skips this on a machine without Chromium."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from server import demo
from server.pytest_plugin import ServerFactory

pytestmark = pytest.mark.skipif(os.environ.get("TEST_SKIP_BROWSER") == "1", reason="TEST_SKIP_BROWSER=1")

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", REPO / "test-artifacts"))
FAMILIES = ["bancho.py-style API", "bancho.py-style API (authorized)", "bancho.py's /v2 API", "osu!api v1",
            "osu!api v2", "osu!track", "ingest (game server)", "operations"]
WAIT = 30  # seconds for the page to render


def _binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        pytest.fail(f"{name} is not installed (Debian: apt-get install chromium chromium-driver), "
                    "or set TEST_SKIP_BROWSER=1")
    return found


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    factory = ServerFactory(tmp_path_factory.mktemp("docs_page"))
    try:
        yield str(factory(env={"RATE_LIMIT_PER_MINUTE": "0"}))
    finally:
        factory.stop_all()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium")
    # headless as root in a sandbox without a display; no calls home, which
    # this machine's closed network would refuse one by one
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,2400",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=_binary("chromedriver")))
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(browser, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    browser.save_screenshot(str(path))
    return path


def test_the_index_names_the_service_and_leads_to_the_docs(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(base_url + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "osu-api-server"
    assert browser.find_element(By.CSS_SELECTOR, ".version").text == "version 0.1.0"
    assert _screenshot(browser, "index.png").stat().st_size > 0
    browser.find_element(By.LINK_TEXT, "Interactive documentation").click()
    WebDriverWait(browser, WAIT).until(ready.url_to_be(base_url + "/docs"))
    # and a client asking for JSON gets the same facts as JSON
    about = httpx.get(base_url + "/", headers={"Accept": "application/json"}).json()
    assert about == {"name": "osu-api-server", "version": "0.1.0",
                     "links": {"docs": "/docs", "openapi": "/openapi.json", "health": "/health"}}


def test_the_docs_list_every_family_and_try_it_out_answers_the_demo_player(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT)
    browser.get(base_url + "/docs")
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock-tag")))
    tags = [element.get_attribute("data-tag") for element in browser.find_elements(By.CSS_SELECTOR, ".opblock-tag")]
    assert tags == FAMILIES
    _screenshot(browser, "docs.png")

    summary = browser.find_element(By.CSS_SELECTOR, ".opblock-summary-path[data-path='/v1/get_player_info']")
    operation = summary.find_element(By.XPATH, "./ancestor::div[contains(@class, 'opblock ')]")
    summary.click()
    wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    operation.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    Select(operation.find_element(By.CSS_SELECTOR, "tr[data-param-name='scope'] select")).select_by_visible_text("all")
    operation.find_element(By.CSS_SELECTOR, "tr[data-param-name='id'] input").send_keys("3")
    operation.find_element(By.CSS_SELECTOR, ".execute").click()
    body = wait.until(lambda _: operation.find_elements(By.CSS_SELECTOR, ".live-responses-table .microlight"))
    answer = json.loads(body[0].text)
    _screenshot(browser, "docs-try-it-out.png")

    player = next(u for u in demo.demo_data()["users"] if u["id"] == 3)
    assert answer["status"] == "success"
    assert (answer["player"]["info"]["id"], answer["player"]["info"]["name"]) == (3, player["name"])
    assert "0" in answer["player"]["stats"]
