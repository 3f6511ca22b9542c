"""The one-page report of a real failover, in a real browser.

`ha_test.py --backend local --scenario failover --html out.html` writes the page; Debian's
chromium, headless, renders it to a DOM dump and a screenshot, and loads it once more under
the DevTools protocol (over a pipe), which reports every request the page makes and gives the
axis's place on the page. `--analyze H --html out2.html` must give the same verdicts.

Chromium never reaches the network here: every host name resolves to nothing and the proxy is
a closed port on the loopback, so even Chromium's own background requests stay on the machine.
"""
import base64
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_app
from tests.unit.test_html import Dom, assert_self_contained, axis

BASE = 6650  # the HA lab: 6650-6652, Sentinels 26650-26652
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    pytest.fail("chromium is missing: scripts/install-system.sh installs it (CI must run the browser test)",
                pytrace=False)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium: install it with scripts/install-system.sh "
                                                         "(apt-get install chromium)")

OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
           "--disable-default-apps", "--no-first-run", "--no-default-browser-check", "--disable-breakpad",
           "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"]


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={profile}", *OFFLINE, *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


class DevTools:
    """Chromium under the DevTools protocol over a pipe (fd 3 in, fd 4 out; no port opened)."""

    def __init__(self, profile: Path):
        to_chrome, self._w = os.pipe()
        self._r, from_chrome = os.pipe()

        def fds():
            os.dup2(to_chrome, 3)
            os.dup2(from_chrome, 4)

        self.proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                      "--remote-debugging-pipe", f"--user-data-dir={profile}", *OFFLINE, "about:blank"],
                                     pass_fds=(3, 4), preexec_fn=fds, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buf, self._id, self.events, self.session = b"", 0, [], None

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def send(self, method: str, params: dict = None, timeout: float = 60) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            got = self._read(deadline)
            if got.get("id") == self._id:
                if "error" in got:
                    raise RuntimeError(f"{method}: {got['error']}")
                return got["result"]
            self.events.append(got)

    def wait(self, event: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in self.events if e.get("method") == event), None)
            if found:
                return found
            self.events.append(self._read(deadline))

    def open(self, url: str, width: int = 1400, height: int = 1000) -> None:
        """A new tab on ``url``, loaded; ``events`` from then on only."""
        self.events, self.session = [], None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Network.enable")
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False})
        self.send("Page.navigate", {"url": url})
        self.wait("Page.loadEventFired")

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def evaluate(self, expression: str):
        return self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})["result"]["value"]

    def screenshot(self, selector: str) -> bytes:
        """A PNG of the element ``selector``, wherever it is on the page."""
        box = json.loads(self.evaluate(
            f"JSON.stringify((() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, "
            "height: r.height}; })())"))
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                    "clip": {**box, "scale": 1}})
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, TimeoutError, EOFError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)


def colours(png: bytes) -> set:
    from PIL import Image
    return {c for _, c in Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 24)}


def near(colour: tuple, palette: set, tolerance: int = 12) -> bool:
    return any(all(abs(a - b) <= tolerance for a, b in zip(colour, c)) for c in palette)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One real failover with its page, and the page of its saved history, judged again."""
    d = tmp_path_factory.mktemp("html-report")
    live = run_app("ha_test.py", "--backend", "local", "--base-port", str(BASE), "--scenario", "failover",
                   "--history", str(d / "H"), "--json", str(d / "r.json"), "--html", str(d / "out.html"), "--quiet",
                   timeout=300)
    assert live.returncode == 0, live.stdout[-3000:] + live.stderr[-3000:]
    assert f"page written to {d / 'out.html'}" in " ".join(live.stdout.split())
    again = run_app("ha_test.py", "--analyze", str(d / "H"), "--json", str(d / "r2.json"), "--html",
                    str(d / "out2.html"), "--quiet", timeout=120)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    return d


def verdicts(text: str) -> list:
    dom = Dom(text)
    return ([(a["id"], a["data-status"]) for a in dom.find("div", **{"class": "verdict"})],
            [a["data-status"] for a in dom.find("li", **{"class": "check"})])


def test_the_dom_holds_the_verdicts_a_lane_per_process_and_the_fault_band(run, tmp_path):
    dumped = chromium(tmp_path / "profile", "--dump-dom", (run / "out.html").as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    text = dumped.stdout
    dom = Dom(text)
    report = json.loads((run / "r.json").read_text())
    failover = next(s for s in report["scenarios"] if s["name"] == "failover")
    for check in failover["checks"]:
        assert check["check"] in dom.all_text
    assert verdicts(text) == ([("verdict-failover", failover["status"])],
                              [{True: "pass", False: "fail", None: "unknown"}[c["ok"]] for c in failover["checks"]])
    history = [json.loads(line) for line in (run / "H" / "history.jsonl").read_text().splitlines()]
    processes = {str(r["process"]) for r in history if r.get("kind") == "client"}
    lanes = axis(text, "run-failover").find("g", **{"class": "lane"})
    shown = [p for g in lanes for p in g["data-processes"].split()]
    assert sorted(shown) == sorted(processes)  # every process in a lane, and in one only
    assert len(lanes) >= 3  # the WAIT writer, the counter, the probe (and the final reads' row)
    bands = axis(text, "run-failover").find("g", **{"class": "fault"})
    assert [b["data-fault"] for b in bands] == ["kill master (valkey-master)"]
    assert_self_contained(text)  # no http:// or https:// src or href: nothing from anywhere


def test_the_screenshot_is_not_blank(run, tmp_path):
    shot = tmp_path / "page.png"
    got = chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1400,1800", (run / "out.html").as_uri())
    assert got.returncode == 0 and shot.exists(), got.stderr[-2000:]
    assert len(colours(shot.read_bytes())) > 10


def test_the_axis_is_drawn_and_the_page_requests_nothing(run, tmp_path):
    page = run / "out.html"
    browser = DevTools(tmp_path / "profile")
    try:
        browser.open(page.as_uri())
        assert browser.requests() == [page.as_uri()]
        png = browser.screenshot("#run-failover-axis")
        # A positive control: the same watcher sees a page that does reach out.
        leaky = tmp_path / "leaky.html"
        leaky.write_text('<html><body><img src="http://example.invalid/x.png"></body></html>')
        browser.open(leaky.as_uri())
        assert "http://example.invalid/x.png" in browser.requests()
    finally:
        browser.close()
    seen = colours(png)
    assert len(seen) > 10  # more than one colour in the axis area: far more
    assert near((0x2e, 0x9d, 0x4c), seen)  # ok ops, green
    assert near((0x4e, 0x79, 0xa7), seen)  # the old master's band
    assert near((0xf3, 0xf0, 0xfd), seen, 8)  # the fault band's tint


def test_analyze_gives_a_page_with_the_same_verdicts(run):
    live, again = (run / "out.html").read_text(), (run / "out2.html").read_text()
    assert verdicts(live) == verdicts(again)
    assert [g["data-processes"] for g in axis(live, "run-failover").find("g", **{"class": "lane"})] == \
        [g["data-processes"] for g in axis(again, "run-failover").find("g", **{"class": "lane"})]


def test_install_system_installs_chromium():
    script = (ROOT / "scripts" / "install-system.sh").read_text()
    assert "chromium" in script
