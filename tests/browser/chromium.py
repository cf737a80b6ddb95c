"""A headless Chromium driven over the DevTools protocol through a pipe (stdlib only).

`--remote-debugging-pipe` makes Chromium read commands on fd 3 and write
replies on fd 4, as NUL-terminated JSON: no websocket, no port, no extra
package. Tests skip when no Chromium is installed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

LAUNCH_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--no-default-browser-check", "--mute-audio",
    "--remote-debugging-pipe",
]
TIMEOUT_S = 30.0


def find_chromium() -> str | None:
    """CLIPSAFETY_CHROMIUM (a path) wins; else /usr/bin/chromium, else chromium on PATH."""
    override = os.environ.get("CLIPSAFETY_CHROMIUM")
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """One browser process; `page()` opens a tab (a flattened CDP session)."""

    def __init__(self, executable: str, profile_dir: Path):
        # Pipe ends copied to fds >= 10, so moving them onto 3 and 4 in the child cannot clobber each other.
        cmd_read, cmd_write = os.pipe()
        reply_read, reply_write = os.pipe()
        child_in = fcntl.fcntl(cmd_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(reply_write, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_read)
        os.close(reply_write)

        def move_pipes_to_3_and_4():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.stderr_path = profile_dir / "chromium.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            [executable, *LAUNCH_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
            # close_fds=False keeps the dup2'ed 3 and 4 (which pass_fds cannot name before they
            # exist); every other descriptor Python opens is non-inheritable anyway (PEP 446).
            preexec_fn=move_pipes_to_3_and_4, close_fds=False)
        os.close(child_in)
        os.close(child_out)
        self._writer = os.fdopen(cmd_write, "wb", buffering=0)
        self._reader = os.fdopen(reply_read, "rb", buffering=0)
        self._next_id = 0
        self._lock = threading.Condition()
        self._replies: dict[int, dict] = {}
        self.events: list[dict] = []
        self._closed = False
        self._thread = threading.Thread(target=self._read_loop, daemon=True)
        self._thread.start()

    def _read_loop(self):
        buffer = b""
        while chunk := self._reader.read(65536):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._lock:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self.events.append(message)
                self._lock.notify_all()
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def stderr_tail(self, chars: int = 2000) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")[-chars:]

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            self._writer.write(json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise DevToolsError(f"Chromium is gone (exit code {self.process.poll()}); "
                                f"its stderr ends with:\n{self.stderr_tail()}") from None
        deadline = time.monotonic() + TIMEOUT_S
        with self._lock:
            while message_id not in self._replies:
                if self._closed or not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise DevToolsError(f"no reply to {method} (browser {'exited' if self._closed else 'timed out'}); "
                                        f"its stderr ends with:\n{self.stderr_tail()}")
            reply = self._replies.pop(message_id)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None, after: int = 0) -> dict:
        deadline = time.monotonic() + TIMEOUT_S
        with self._lock:
            while True:
                for event in self.events[after:]:
                    if event["method"] == method and (session is None or event.get("sessionId") == session):
                        return event
                if self._closed or not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise DevToolsError(f"no {method} event")

    def page(self, width: int = 1400, height: int = 1000) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page

    def close(self):
        try:
            self.send("Browser.close")
        except (DevToolsError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._thread.join(timeout=5)  # ends at EOF, once the browser has exited
        for handle in (self._writer, self._reader, self._stderr):
            try:
                handle.close()
            except OSError:
                pass


class Page:
    def __init__(self, browser: Chromium, session: str):
        self.browser, self.session = browser, session

    def send(self, method: str, params: dict | None = None) -> dict:
        return self.browser.send(method, params, self.session)

    def events(self, method: str) -> list[dict]:
        with self.browser._lock:
            return [e for e in self.browser.events if e["method"] == method and e.get("sessionId") == self.session]

    def goto(self, url: str) -> None:
        mark = len(self.browser.events)
        self.send("Page.navigate", {"url": url})
        self.browser.wait_event("Page.loadEventFired", self.session, after=mark)

    def eval(self, expression: str):
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in reply:
            raise DevToolsError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the first element matching `selector`."""
        box = self.eval(f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (!el) return null;
            el.scrollIntoView({{block: "center"}});
            const r = el.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()""")
        if box is None:
            raise DevToolsError(f"nothing matches {selector!r}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 12000), "scale": 1}
        data = base64.b64decode(self.send("Page.captureScreenshot", params)["data"])
        path.write_bytes(data)
        return path
