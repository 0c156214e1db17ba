"""No password or token in any log of the test run (security bar, line 19).

For the whole session every log record at INFO and above, from every logger, is also
written to a file, as a plain handler would write it (the app's own masking filters on
the loggers apply; no extra cleaning here). Meanwhile the functions that take passwords
or make tokens are wrapped to note each value. When the session ends the file is searched
for every noted value; a hit fails the run and is reported, the secret itself redacted.

tests/conftest.py imports the fixture and the hooks below.
"""

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# (module, function, what holds the secret): a positional argument's index, or "result".
SOURCES = (
    ("tracker.accounts", "hash_password", 0),
    ("tracker.accounts", "check_password", 1),
    ("tracker.feed", "new_token", "result"),
    ("tracker.reset", "new_token", "result"),
    ("tracker.twofactor", "new_secret", "result"),
    ("tracker.twofactor", "new_recovery_codes", "result"),
    ("tracker.tokens", "action_token", "result"),
    ("tracker.tokens", "unsubscribe_token", "result"),
)
# Shorter strings (a 6-digit code, "x") would match by chance.
MIN_LENGTH = 8
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class RunLog:
    path: Path
    secrets: set[str] = field(default_factory=set)
    kinds: dict[str, str] = field(default_factory=dict)
    hits: list[tuple[int, str, str]] = field(default_factory=list)
    checked: bool = False

    def note(self, kind: str, value: object) -> None:
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if isinstance(item, str) and len(item) >= MIN_LENGTH:
                for form in {item, item.replace("-", "")}:
                    self.secrets.add(form)
                    self.kinds.setdefault(form, kind)

    def search(self) -> list[tuple[int, str, str]]:
        """(line number, kind of secret, the line with the secret redacted) for each hit."""
        hits = []
        text = self.path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for secret in self.secrets:
                if secret in line:
                    redacted = line.replace(secret, f"<{self.kinds[secret]}>")
                    hits.append((number, self.kinds[secret], redacted))
        return hits


def _recording(run: RunLog, kind: str, where: int | str, original: Callable) -> Callable:
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if where == "result":
            run.note(kind, result)
        elif len(args) > where:
            run.note(kind, args[where])
        return result

    return wrapper


RUN_LOG = pytest.StashKey[RunLog]()


@pytest.fixture(scope="session", autouse=True)
def run_log(request, tmp_path_factory):
    """Every log record of the run into a file; every password and token noted."""
    import importlib

    run = RunLog(tmp_path_factory.mktemp("logs") / "run.log")
    request.config.stash[RUN_LOG] = run
    handler = logging.FileHandler(run.path, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    if level > logging.INFO:  # WARNING by default: the app logs logins at INFO
        root.setLevel(logging.INFO)
    with pytest.MonkeyPatch.context() as patch:
        for module_name, name, where in SOURCES:
            module = importlib.import_module(module_name)
            kind = f"{module_name.rsplit('.', 1)[1]}.{name}"
            patch.setattr(module, name, _recording(run, kind, where, getattr(module, name)))
        yield run
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()
    run.hits = run.search()
    run.checked = True


def pytest_sessionfinish(session, exitstatus) -> None:
    run = session.config.stash.get(RUN_LOG, None)
    if run is not None and run.checked and run.hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    run = config.stash.get(RUN_LOG, None)
    if run is None or not run.checked:
        return
    if not run.hits:
        terminalreporter.write_line(
            f"logs: {len(run.secrets)} passwords and tokens made by the tests; "
            "none is in any log line."
        )
        return
    terminalreporter.section("secrets in the logs", sep="=", red=True, bold=True)
    for number, kind, line in run.hits[:50]:
        terminalreporter.write_line(f"{run.path}:{number}: {kind}: {line}")
    terminalreporter.write_line(f"{len(run.hits)} log line(s) hold a password or token.")
