"""Opens a report page in headless Debian chromium and prints, as JSON, what a reader's
browser shows: the page title, every element tagged with a report.json pointer
(data-key) and its rendered text, the number of inline SVG charts, and every console
entry the page caused. Used by page.rs; run as `page_dom.py FILE.html`."""

import json
import pathlib
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
# Headless, as root, on a machine with no route out: no sandbox, no GPU, and none of
# the browser's own background traffic (which this network would refuse noisily).
for flag in [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]:
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
try:
    driver.get(pathlib.Path(sys.argv[1]).resolve().as_uri())
    figures = driver.execute_script(
        "return Array.from(document.querySelectorAll('[data-key]'))"
        ".map(e => [e.dataset.key, e.innerText])"
    )
    charts = driver.execute_script("return document.querySelectorAll('figure svg').length")
    print(
        json.dumps(
            {
                "title": driver.title,
                "figures": figures,
                "charts": charts,
                "console": driver.get_log("browser"),
            }
        )
    )
finally:
    driver.quit()
