#!/usr/bin/env python3
"""check-view.py URL SHOTDIR [CONN_PORT] — opens `tracejoin view` at URL in headless Chromium (Debian's
chromium and chromium-driver, PyPI selenium) and prints, as JSON, what a person would see: the first
timeline rows, the ladder drawn after clicking a row of the connection whose client port is CONN_PORT,
what a search for hostile text shows and whether anything ran, and how long the first screen took.
Screenshots go to SHOTDIR (test artifacts, not committed)."""
import json, os, sys, time
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.service import Service

url, shots = sys.argv[1], sys.argv[2]
conn_port = sys.argv[3] if len(sys.argv) > 3 else None
os.makedirs(shots, exist_ok=True)
opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1500,1000"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = webdriver.Chrome(options=opts, service=Service(executable_path="/usr/bin/chromedriver"))


def wait(cond, limit=20):
    t0 = time.time()
    while time.time() - t0 < limit:
        try:
            v = cond()
            if v:
                return v
        except Exception:
            pass
        time.sleep(0.05)
    return None


def rows():
    return [[s.text for s in r.find_elements(By.TAG_NAME, "span")] for r in d.find_elements(By.CSS_SELECTOR, "#tlrows .row:not(.pending)")]


out = {}
try:
    t0 = time.time()
    d.get(url)
    wait(lambda: d.find_elements(By.CSS_SELECTOR, "#tlrows .row:not(.pending)"))
    out["first_screen_s"] = round(time.time() - t0, 3)
    wait(lambda: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    out["count"] = d.find_element(By.ID, "count").text
    out["first_rows"] = rows()[:12]
    out["histogram_bars"] = len(d.find_elements(By.CSS_SELECTOR, "#histogram rect.bar"))
    out["findings"] = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#findings li .kind")]
    out["clocks_rows"] = len(d.find_elements(By.CSS_SELECTOR, "#clocks tbody tr"))
    d.save_screenshot(os.path.join(shots, "timeline.png"))

    if conn_port:
        row = wait(lambda: next(r for r in d.find_elements(By.CSS_SELECTOR, "#tlrows .row.conn")
                                if ":" + conn_port + " " in r.find_element(By.CSS_SELECTOR, ".c").text + " "))
        if row:
            row.click()
            wait(lambda: d.find_elements(By.CSS_SELECTOR, "#ladder line.pkt"))
            out["conn_title"] = d.find_element(By.ID, "conntitle").text
            out["conn_path"] = d.execute_script("return location.pathname")
            out["ladder_packets"] = len(d.find_elements(By.CSS_SELECTOR, "#ladder line.pkt"))
            out["ladder_rst_from"] = [e.get_attribute("data-src") for e in d.find_elements(By.CSS_SELECTOR, "#ladder line.rst")]
            out["ladder_lanes"] = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#ladder text.lanename")]
            d.save_screenshot(os.path.join(shots, "ladder.png"))
            d.find_element(By.ID, "connclose").click()

    # Hostile text: searched for, shown as text, runs nothing.
    form = d.find_element(By.ID, "filters")
    grep = form.find_element(By.NAME, "grep")
    grep.clear()
    grep.send_keys("onerror")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(lambda: "grep=onerror" in d.current_url and d.find_elements(By.CSS_SELECTOR, "#tlrows .row:not(.pending)"))
    time.sleep(0.5)
    out["url_after_search"] = d.current_url
    out["hostile_rows"] = [r[-1] for r in rows()]
    out["images"] = len(d.find_elements(By.TAG_NAME, "img"))
    out["scripts"] = len(d.find_elements(By.TAG_NAME, "script"))
    out["pwned"] = d.execute_script("return window.__pwned === true")
    d.save_screenshot(os.path.join(shots, "hostile.png"))
    out["console_errors"] = [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]
finally:
    d.quit()
print(json.dumps(out))
