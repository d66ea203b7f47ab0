"""The checked source as the file page shows it: flake8's lines, highlighted by Pygments, findings at their lines."""

import io
import tokenize
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

PYCODESTYLE_CODES_URL = "https://pycodestyle.pycqa.org/en/latest/intro.html#error-codes"
FLAKE8_CODES_URL = "https://flake8.pycqa.org/en/latest/user/error-codes.html"
MCCABE_URL = "https://flake8.pycqa.org/en/latest/user/options.html#cmdoption-flake8-max-complexity"


def rule_url(code: str) -> str:
    """The documentation of a flake8 code: pycodestyle's table for E and W (E9, the
    file could not be read or parsed, is listed there too), flake8's for pyflakes'
    F codes, the ``--max-complexity`` option for mccabe's C901."""
    if code.startswith(("E", "W")):
        return PYCODESTYLE_CODES_URL
    if code.startswith("C9"):
        return MCCABE_URL
    return FLAKE8_CODES_URL


def source_text(data: bytes) -> str:
    """The text flake8 reads from these bytes (``FileProcessor.read_lines_from_filename``):
    decoded in the PEP 263 encoding (UTF-8 by default), else as Latin-1; universal
    newlines, so ``\\r\\n`` and a lone ``\\r`` each end a line and become ``\\n``."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return io.TextIOWrapper(io.BytesIO(data), encoding=encoding).read()
    except (SyntaxError, UnicodeError, LookupError):
        return io.TextIOWrapper(io.BytesIO(data), encoding="latin-1").read()


def source_lines(text: str) -> list[str]:
    """Line n of flake8 is item n - 1 (without its newline). Only ``\\n`` separates:
    form feeds and Unicode line separators stay inside their line, as for flake8."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _highlighted(lines: list[str]) -> list[SafeString]:
    """One HTML fragment per line. Pygments escapes the text, and its formatter closes
    and reopens its spans at each newline, so every line's fragment stands alone (a
    triple-quoted string spanning lines too). Should the lexer ever give a different
    count of lines, the lines are shown escaped without colours, never misnumbered."""
    if not lines:
        return []
    lexer = PythonLexer(stripnl=False, ensurenl=True)
    html = highlight("\n".join(lines) + "\n", lexer, HtmlFormatter(nowrap=True))
    fragments = html.split("\n")[: len(lines)]
    if len(fragments) != len(lines) or html.count("\n") != len(lines):
        return [escape(line) for line in lines]
    return [mark_safe(fragment) for fragment in fragments]  # noqa: S308 - Pygments escaped the text


@dataclass
class FindingView:
    line: int
    column: int
    code: str
    message: str
    url: str
    is_new: bool = False


@dataclass
class LineView:
    number: int
    html: SafeString
    findings: list[FindingView] = field(default_factory=list)


@dataclass
class Listing:
    lines: list[LineView]
    # Findings at no line of the source: flake8's line 0 (the file could not be read)
    # or a line past the end (a syntax error at the end of the file).
    elsewhere: list[FindingView]


def _key(f: Any) -> tuple[int, int, str, str]:
    if isinstance(f, dict):
        return (f["line"], f["column"], f["code"], f["message"])
    return (f.line, f.column, f.code, f.message)


def source_listing(*, text: str, findings: Iterable[Any], new_findings: Iterable[Any] = ()) -> Listing:
    """Each line of the checked source with the findings at that line, in column order;
    a finding that is also in ``new_findings`` is marked new."""
    lines = source_lines(text)
    views = [LineView(number=n, html=html) for n, html in enumerate(_highlighted(lines), start=1)]
    new = Counter(_key(f) for f in new_findings)
    elsewhere = []
    for f in sorted(findings, key=lambda f: _key(f)[:2]):  # stable: flake8's order within a column
        key = _key(f)
        view = FindingView(*key, url=rule_url(key[2]), is_new=new[key] > 0)
        new[key] -= 1
        if 1 <= view.line <= len(views):
            views[view.line - 1].findings.append(view)
        else:
            elsewhere.append(view)
    return Listing(lines=views, elsewhere=elsewhere)


def finding_html(f: FindingView) -> SafeString:
    return format_html(
        '<div class="finding{}" data-testid="finding" data-line="{}" data-column="{}" data-code="{}">'
        '<span class="finding-col">col {}</span> <a class="finding-code" href="{}" target="_blank"'
        ' rel="noopener noreferrer" title="What {} means"><code>{}</code></a>'
        ' <span class="finding-message">{}</span>{}</div>',
        " finding-new" if f.is_new else "",
        f.line,
        f.column,
        f.code,
        f.column,
        f.url,
        f.code,
        f.code,
        f.message,
        mark_safe(' <span class="finding-new-mark" data-testid="new">new</span>') if f.is_new else "",
    )


def listing_rows_html(listing: Listing) -> SafeString:
    """The table rows of the listing: a row per source line, a row per finding under its
    line. Built here rather than in a template loop: a 256 KB file has thousands of rows.
    Line numbers are ints, each line's HTML is Pygments' escaped output, findings go
    through ``format_html``."""
    rows = []
    for line in listing.lines:
        n = line.number
        marked = " has-findings" if line.findings else ""
        rows.append(
            f'<tr class="source-line{marked}" id="L{n}" data-line="{n}"><td class="ln"><a href="#L{n}">{n}</a></td>'
            f'<td class="code">{line.html}</td></tr>'
        )
        rows.extend(
            f'<tr class="finding-line"><td class="ln"></td><td>{finding_html(f)}</td></tr>' for f in line.findings
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every part is escaped above


def pygments_css() -> str:
    """The stylesheet of the colours (``codecheck/static/codecheck/pygments.css`` is this, saved):
    only the rules under ``.highlight``, none that would restyle every ``pre`` of the site."""
    rules = HtmlFormatter(style="default").get_style_defs(".highlight").splitlines()
    return "\n".join(rule for rule in rules if rule.startswith(".highlight")) + "\n"
