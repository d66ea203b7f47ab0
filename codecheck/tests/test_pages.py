"""The file page as a review: the checked source, each finding at its line (against flake8 itself), escaping."""

import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path

import pytest
from django.urls import reverse

from codecheck.listing import FLAKE8_CODES_URL, MCCABE_URL, PYCODESTYLE_CODES_URL, pygments_css, rule_url
from codecheck.models import Check, CodeFile
from codecheck.services import code_file_upload, codecheck_run
from codecheck.tests.conftest import upload

pytestmark = pytest.mark.django_db

STATIC = Path(__file__).resolve().parents[1] / "static" / "codecheck"
XSS = "</pre><script>alert(1)</script>"

# Russian identifiers and text, markup in code, strings and comments, CRLF and lone CR
# line ends, a form feed and a Unicode line separator inside lines (flake8 does not
# break lines there), tabs, a string over three lines, style faults and unused names.
MIXED = (
    "import os\r\n"
    "import sys, json\r\n"
    "\r\n"
    "ЗАГОЛОВОК = '" + XSS + "'  # " + XSS + "\r"
    "def приветствие( имя ):\n"
    '    """Многострочная <b>строка</b>\n'
    "    </pre> & &amp; \u2028 ещё\n"
    '    """\n'
    "    x=1\n"
    "    return 'Привет, ' + имя + \"" + "ж" * 70 + '"   \n'
    "\x0c\n"
    "class Класс : pass\n"
    "def g():\n"
    "\treturn неизвестное\n"
    "# <!-- not html -->"
).encode()
SYNTAX_ERROR = "def f(:\n    return 'ошибка'\n".encode()
UNCLOSED = b"a = 1\nb = 2\nc = (\n"
CP1251 = "# -*- coding: cp1251 -*-\nимя = 'Привет'  \nimport os\n".encode("cp1251")


@pytest.fixture
def web(client, user):
    client.force_login(user)
    return client


@dataclass
class PageFinding:
    after_line: int | None  # the source line the finding is shown under; None: above the listing
    line: int
    column: int
    code: str
    message: str
    url: str


@dataclass
class _Page(HTMLParser):
    """What a reader sees of the listing, read with the standard library's HTML parser."""

    lines: dict[int, str] = field(default_factory=dict)
    findings: list[PageFinding] = field(default_factory=list)
    scripts: list[dict] = field(default_factory=list)

    def __post_init__(self):
        super().__init__(convert_charrefs=True)
        self._line: int | None = None
        self._in_code = 0
        self._finding: dict | None = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "script":
            self.scripts.append(a)
        if tag == "tr" and "source-line" in classes:
            self._line = int(a["data-line"])
            self.lines[self._line] = ""
        if tag == "td" and "code" in classes and self._line is not None:
            self._in_code = 1
        elif self._in_code and tag not in ("br",):
            self._in_code += 1
        if a.get("data-testid") == "finding":
            self._finding = {"attrs": a, "message": "", "url": "", "depth": 1}
        elif self._finding is not None:
            self._finding["depth"] += 1
            if tag == "a":
                self._finding["url"] = a["href"]
            self._finding["part"] = "message" if "finding-message" in classes else self._finding.get("part")

    def handle_endtag(self, tag):
        if self._in_code:
            self._in_code -= 1
        if self._finding is not None:
            self._finding["depth"] -= 1
            if self._finding.get("part") == "message" and tag == "span":
                self._finding["part"] = None
            if self._finding["depth"] == 0:
                a = self._finding["attrs"]
                self.findings.append(
                    PageFinding(
                        self._line,
                        int(a["data-line"]),
                        int(a["data-column"]),
                        a["data-code"],
                        self._finding["message"],
                        self._finding["url"],
                    )
                )
                self._finding = None

    def handle_data(self, data):
        if self._in_code and self._line is not None and self._finding is None:
            self.lines[self._line] += data
        if self._finding is not None and self._finding.get("part") == "message":
            self._finding["message"] += data


def _read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


FLAKE8_FORMAT = "%(row)d\t%(col)d\t%(code)s\t%(text)s"


def _flake8_directly(name: str, data: bytes, folder: Path) -> list[tuple[int, int, str, str]]:
    """The oracle: the pinned flake8 itself, ``flake8 --isolated`` on a file of the same name."""
    (folder / name).write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--max-line-length=79", f"--format={FLAKE8_FORMAT}", name],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    rows = [line.split("\t", 3) for line in result.stdout.splitlines()]
    return [(int(row), int(col), code, text) for row, col, code, text in rows]


def _lines_as_python_reads_them(path: Path) -> list[str]:
    """The standard library's reading of a source file (PEP 263, universal newlines), Latin-1 when that fails."""
    try:
        with tokenize.open(path) as handle:
            return [line.removesuffix("\n") for line in handle.readlines()]
    except (SyntaxError, UnicodeError):
        with path.open(encoding="latin-1") as handle:
            return [line.removesuffix("\n") for line in handle.readlines()]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("приложение.py", MIXED),
        ("broken.py", SYNTAX_ERROR),
        ("unclosed.py", UNCLOSED),
        ("legacy.py", CP1251),
    ],
)
def test_file_page_shows_the_checked_source_with_flake8s_findings_at_their_lines(
    web, user, checker, tmp_path, name, data
):
    code_file, _ = code_file_upload(owner=user, upload=upload(name, data))
    codecheck_run(checker=checker)

    html = web.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode()

    page = _read_page(html)
    expected = _flake8_directly(name, data, tmp_path)
    source = _lines_as_python_reads_them(tmp_path / name)
    assert expected, "the sample should have findings"
    assert page.lines == dict(enumerate(source, start=1))
    shown = [(f.after_line, f.line, f.column, f.code, f.message) for f in page.findings]
    in_place = [(row if 1 <= row <= len(source) else None, row, col, code, text) for row, col, code, text in expected]
    assert shown == in_place
    assert [f.url for f in page.findings] == [rule_url(f.code) for f in page.findings]


def test_uploaded_markup_is_shown_as_text_never_as_html(web, user, checker):
    code_file, _ = code_file_upload(owner=user, upload=upload("<img src=x onerror=alert(3)>.py", MIXED))
    codecheck_run(checker=checker)

    html = web.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode()

    page = _read_page(html)
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(3)&gt;.py" in html
    assert "<script>alert" not in html
    assert "</pre><script>" not in html
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS in page.lines[4]
    assert page.lines[5].startswith("def приветствие( имя ):")
    assert page.lines[15] == "# <!-- not html -->"
    assert [s.get("src") for s in page.scripts] == [
        "/static/codecheck/refresh.js",
        "/static/js/bootstrap.bundle.min.js",
    ]


def test_a_check_page_shows_the_version_it_checked_after_the_file_was_replaced(web, user, checker):
    code_file, _ = code_file_upload(owner=user, upload=upload("app.py", b"import os\n"))
    codecheck_run(checker=checker)
    code_file_upload(owner=user, upload=upload("app.py", b"import sys\nx=1\n"))
    codecheck_run(checker=checker)
    first = Check.objects.get(version=1)

    old = _read_page(web.get(reverse("codecheck:check-detail", args=[first.pk])).content.decode())
    current = _read_page(web.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode())

    assert old.lines == {1: "import os"}
    assert [(f.line, f.code) for f in old.findings] == [(1, "F401")]
    assert current.lines == {1: "import sys", 2: "x=1"}
    assert [(f.line, f.code) for f in current.findings] == [(1, "F401"), (2, "E225")]


def test_new_and_fixed_findings_are_marked_on_the_page(web, user, checker):
    code_file, _ = code_file_upload(owner=user, upload=upload("app.py", b"import os\nimport sys\n\nprint(sys)\n"))
    codecheck_run(checker=checker)
    code_file_upload(owner=user, upload=upload("app.py", b"import sys\n\nprint(sys)\nx=1\n"))
    codecheck_run(checker=checker)

    html = web.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode()

    page = _read_page(html)
    assert [(f.line, f.code) for f in page.findings] == [(4, "E225")]
    assert 'data-testid="new">new</span>' in html
    assert "since the previous check:" in html
    assert '<div data-testid="fixed"><div class="finding finding-fixed" data-line="1" data-code="F401">' in html
    assert "&#x27;os&#x27; imported but unused" in html


@pytest.mark.parametrize("is_staff", [False, True])
def test_another_users_check_page_is_404(client, user, other_user, is_staff):
    from codecheck.tests.factories import CheckFactory, CodeFileFactory

    check = CheckFactory(file=CodeFileFactory(owner=other_user))
    user.is_staff = is_staff
    user.save()
    client.force_login(user)

    response = client.get(reverse("codecheck:check-detail", args=[check.pk]))

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    ("code", "url"),
    [
        ("E225", PYCODESTYLE_CODES_URL),
        ("W291", PYCODESTYLE_CODES_URL),
        ("E999", PYCODESTYLE_CODES_URL),
        ("F401", FLAKE8_CODES_URL),
        ("C901", MCCABE_URL),
    ],
)
def test_each_code_links_to_its_rules_documentation(code, url):
    assert rule_url(code) == url


def test_the_served_stylesheet_is_the_installed_pygments_colours():
    assert (STATIC / "pygments.css").read_text() == pygments_css()


def test_a_source_line_count_pygments_disagrees_with_falls_back_to_plain_escaped_text(monkeypatch):
    from codecheck import listing

    monkeypatch.setattr(listing, "highlight", lambda text, lexer, formatter: "only one line\n")

    lines = listing.source_listing(text="a = '<b>'\nb = 2\n", findings=[]).lines

    assert [str(line.html) for line in lines] == ["a = &#x27;&lt;b&gt;&#x27;", "b = 2"]


def test_a_finding_at_no_line_is_listed_above_the_source():
    from codecheck.listing import source_listing
    from codecheck.review import finding_dict

    listing = source_listing(
        text="x = 1\n",
        findings=[
            finding_dict(line=0, column=1, code="E902", message="OSError"),
            finding_dict(line=1, column=2, code="E225", message="m"),
        ],
    )

    assert [(f.line, f.code) for f in listing.elsewhere] == [(0, "E902")]
    assert [[f.code for f in line.findings] for line in listing.lines] == [["E225"]]


def test_a_waiting_file_says_so_and_asks_to_be_refreshed(web, user):
    code_file, _ = code_file_upload(owner=user, upload=upload("app.py", b"x = 1\n"))

    html = web.get(reverse("codecheck:file-detail", args=[code_file.pk])).content.decode()

    assert 'data-autorefresh="2"' in html
    assert 'data-testid="waiting"' in html
    assert '<script src="/static/codecheck/refresh.js" defer></script>' in html
    assert CodeFile.objects.get().status == CodeFile.Status.NEW


def test_the_migration_fills_in_the_source_of_checks_of_the_stored_version(user):
    import importlib

    from django.apps import apps

    from codecheck.tests.factories import CheckFactory, CodeFileFactory

    backfill = importlib.import_module("codecheck.migrations.0003_check_source").backfill
    code_file = CodeFileFactory(owner=user, version=2)
    earlier, current = CheckFactory(file=code_file, version=1), CheckFactory(file=code_file, version=2)

    backfill(apps, None)

    earlier.refresh_from_db()
    current.refresh_from_db()
    assert (earlier.source, current.source) == ("", "import os\n")
