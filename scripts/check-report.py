#!/usr/bin/env python3
"""check-report.py REPORT.html [SCREENSHOT.png] — opens a tracejoin report in headless Chromium (Debian's
chromium and chromium-driver, PyPI selenium) and prints what a person would see, as JSON: findings, timeline
rows drawn, ladder lines (seen on both sides / one side only), what filtering the timeline leaves, how long
the page took to become usable, and whether it tried to fetch anything."""
import json, sys, time
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.chrome.service import Service

path, shot = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
service = Service(executable_path="/usr/bin/chromedriver")
d = webdriver.Chrome(options=opts, service=service)
try:
    t0 = time.time()
    d.get("file://" + path)
    # Usable: the timeline's first screen is drawn.
    while not d.find_elements(By.CSS_SELECTOR, "#tlrows .row") and time.time() - t0 < 30:
        time.sleep(0.05)
    ready = time.time() - t0
    out = {
        "ready_s": round(ready, 3),
        "findings": [e.get_attribute("class") for e in d.find_elements(By.CSS_SELECTOR, "div.finding")],
        "finding_kinds": [e.text for e in d.find_elements(By.CSS_SELECTOR, "div.finding code")],
        "timeline_rows_drawn": len(d.find_elements(By.CSS_SELECTOR, "#tlrows .row")),
        "timeline_count": d.find_element(By.ID, "count").text,
        "ladders": len(d.find_elements(By.CSS_SELECTOR, "div.ladder")),
        "ladder_lines_seen": len(d.find_elements(By.CSS_SELECTOR, "div.ladder line.pkt")),
        "ladder_lines_one_side": len(d.find_elements(By.CSS_SELECTOR, "div.ladder line.alone")),
        "scripts_injected": len(d.find_elements(By.CSS_SELECTOR, "script")),
        "images": len(d.find_elements(By.CSS_SELECTOR, "img")),
        "alerts": d.execute_script("return window.__pwned === true"),
    }
    q = d.find_element(By.ID, "q")
    q.send_keys("RST")
    time.sleep(0.3)
    out["filtered_count"] = d.find_element(By.ID, "count").text
    out["filtered_first_row"] = (d.find_elements(By.CSS_SELECTOR, "#tlrows .row") or [None])[0].text if d.find_elements(By.CSS_SELECTOR, "#tlrows .row") else ""
    # Network: anything requested besides the file itself.
    fetched = set()
    for entry in d.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            fetched.add(msg["params"]["request"]["url"])
    out["fetched"] = sorted(u for u in fetched if not u.startswith("file://"))
    if shot:
        q.clear(); d.execute_script("window.scrollTo(0, 0)"); time.sleep(0.2)
        d.save_screenshot(shot)
    print(json.dumps(out))
finally:
    d.quit()
