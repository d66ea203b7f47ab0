"""The cost of codecheck's review listing: a file of about --kb KB (the upload limit
by default) with a finding on every third line, against Pygments alone on the same
text (the floor: highlighting must happen) and against the same rows rendered by a
Django template loop with an include per finding (how a template would build it).

Each figure is the best of --repeat runs in this process. Needs no service.
Usage: .venv/bin/python bench/codecheck_page.py [--kb 256] [--repeat 3]
"""

import argparse
import json
import os
import time

from _support import ROOT  # noqa: F401  (puts the project on the path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django

django.setup()

from django.template import engines  # noqa: E402
from pygments import highlight  # noqa: E402
from pygments.formatters import HtmlFormatter  # noqa: E402
from pygments.lexers import PythonLexer  # noqa: E402

from codecheck.listing import listing_rows_html, source_listing  # noqa: E402
from codecheck.review import finding_dict  # noqa: E402

TEMPLATE_LOOP = (
    '{% for line in listing.lines %}<tr class="source-line{% if line.findings %} has-findings{% endif %}"'
    ' id="L{{ line.number }}" data-line="{{ line.number }}"><td class="ln">'
    '<a href="#L{{ line.number }}">{{ line.number }}</a></td><td class="code">{{ line.html }}</td></tr>'
    '{% for f in line.findings %}<tr class="finding-line"><td class="ln"></td><td>{% include finding %}</td></tr>'
    "{% endfor %}{% endfor %}"
)
FINDING = (
    '<div class="finding" data-line="{{ f.line }}" data-column="{{ f.column }}" data-code="{{ f.code }}">'
    '<span class="finding-col">col {{ f.column }}</span> <a class="finding-code" href="{{ f.url }}">'
    '<code>{{ f.code }}</code></a> <span class="finding-message">{{ f.message }}</span></div>'
)


def source_of(kb: int) -> tuple[str, list]:
    chunks, findings, size, i = [], [], 0, 0
    while size < kb * 1024:
        chunks.append(f"def f{i}( x ):\n    return x+{i}  # комментарий <b>\n\n")
        size += len(chunks[-1].encode())
        findings.append(finding_dict(line=3 * i + 1, column=7, code="E201", message="whitespace after '('"))
        i += 1
    return "".join(chunks), findings


def best(repeat: int, call) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text, findings = source_of(args.kb)
    lines = text.count("\n")
    engine = engines["django"]
    loop = engine.from_string(TEMPLATE_LOOP)
    finding = engine.from_string(FINDING)

    pygments_alone = best(args.repeat, lambda: highlight(text, PythonLexer(stripnl=False), HtmlFormatter(nowrap=True)))
    ours = best(args.repeat, lambda: listing_rows_html(source_listing(text=text, findings=findings)))
    listing = source_listing(text=text, findings=findings)
    rows_ours = best(args.repeat, lambda: listing_rows_html(listing))
    rows_template = best(args.repeat, lambda: loop.render({"listing": listing, "finding": finding}))

    print(f"{len(text.encode()) / 1024:.0f} KB, {lines} lines, {len(findings)} findings, best of {args.repeat}")
    print(f"reference: Pygments alone on the text        {pygments_alone * 1000:8.1f} ms")
    print(f"listing + rows (what the page does)           {ours * 1000:8.1f} ms")
    print(f"rows only, built in Python (ours)             {rows_ours * 1000:8.1f} ms")
    print(f"rows only, template loop with includes (ref.) {rows_template * 1000:8.1f} ms")
    print(
        json.dumps(
            {
                "kb": args.kb,
                "lines": lines,
                "pygments_ms": round(pygments_alone * 1000, 1),
                "page_listing_ms": round(ours * 1000, 1),
                "rows_python_ms": round(rows_ours * 1000, 1),
                "rows_template_ms": round(rows_template * 1000, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
