"""Real processes for the fault tests: commands in their own process group, HTTP clients.

`Command` starts anything (make, gunicorn, flask) in a new session so a test can press
Ctrl-C on the whole group, and collects its output line by line. `Browser` is a tiny
cookie-keeping HTTP client that logs in the way a browser does, CSRF token included.
"""

import contextlib
import http.cookiejar
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON_BIN = ROOT / ".venv" / "bin"
CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Command:
    """A command running in its own process group, its output collected line by line."""

    def __init__(self, args: list[str], env: dict, cwd: Path = ROOT) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)
            self._new.put(line)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for(self, text: str, timeout: float = 60, times: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < times:
            assert time.monotonic() < deadline, f"no {text!r} x{times} in:\n{self.output()}"
            assert self.process.poll() is None, f"exited early:\n{self.output()}"
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=0.05)

    def signal_group(self, sig: int, timeout: float = 60) -> int | None:
        """Send `sig` to every process of the group (Ctrl-C is SIGINT to the group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill whatever is left of the group and close the pipe."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._reader.join(5)
        self.process.stdout.close()


def children(pid: int) -> list[int]:
    """The direct children of a process, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_http(url: str, timeout: float = 60) -> None:
    """Until the server answers anything at all."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.2)


class Browser:
    """Cookies kept, redirects not followed, CSRF tokens read from the last form page."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def request(
        self, method: str, path: str, data: dict | None = None, timeout: float = 30
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, method=method)
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def get(self, path: str, timeout: float = 30) -> tuple[int, str]:
        return self.request("GET", path, timeout=timeout)

    def post_form(self, form_path: str, path: str, data: dict, timeout: float = 30):
        """GET the page with the form for its CSRF token, then POST `data` to `path`."""
        status, page = self.get(form_path, timeout=timeout)
        assert status == 200, (form_path, status)
        token = CSRF_FIELD.search(page)
        assert token, f"no CSRF token on {form_path}"
        return self.request("POST", path, {**data, "csrf_token": token.group(1)}, timeout)

    def log_in(self, email: str, password: str) -> None:
        status, _ = self.post_form("/login", "/login", {"email": email, "password": password})
        assert status == 302, f"login failed ({status})"
