"""Open a report in a real headless Chromium: keep a screenshot, return the DOM after any
script would have run, and check that nothing hostile ran.

Chromium comes from Debian's packages (`.ci/run` installs it). Screenshots are kept under
`artifacts/` (or $HARNESS_ARTIFACTS) for a person to look at.
"""

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = (
    '</pre></div></section><script>document.title="pwned"</script>'
    "<img src=x onerror=\"document.title='pwned'\"><a href=\"javascript:document.title='pwned'\">x</a>"
    "<style>body{display:none}</style>"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def browse(html: str, tmp_path: Path, name: str) -> str:
    """Load the page, keep a screenshot, and return the DOM after any script would have run."""
    page = tmp_path / f"{name}.html"
    page.write_text(html)
    artifacts = Path(os.environ.get("HARNESS_ARTIFACTS", ROOT / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    exe = chromium()
    shot = subprocess.run(
        [
            exe,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'p1'}",
            "--window-size=1200,2000",
            f"--screenshot={artifacts / (name + '.png')}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    dom = subprocess.run(
        [
            exe,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'p2'}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        # The document's own title is the first; SVG tooltips have <title>s too.
        self._in_title = tag == "title" and sum(t == "title" for t, _ in self.tags) == 1

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


def check_inert(dom: str, expected_title: str) -> Tags:
    parsed = Tags()
    parsed.feed(dom)
    names = [t for t, _ in parsed.tags]
    assert parsed.title == expected_title  # no script ran
    assert "script" not in names and "img" not in names and "a" not in names
    assert names.count("style") == len([1 for t, a in parsed.tags if t == "style"]) <= 2
    assert not any(k.startswith("on") for _, attrs in parsed.tags for k in attrs)
    return parsed
