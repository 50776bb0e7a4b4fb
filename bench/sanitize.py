"""Sanitising big HTML mail: the 200 KB newsletter and table-heavy shop mail of 200 KB and 1 MB.

Times core.mail.sanitize.sanitize_html (each document sanitised REPEAT times after
emptying the style memos: the first run is reported apart), its parse alone (Lexbor,
with the depth estimate and the copy into ElementTree) and, as a yardstick that moves
with the machine's load, html5lib's parse alone (the parser used before issue 17).
Prints medians, the best run and ms per MB against issue 17's targets (newsletter
≤ 40 ms, table-heavy mail ≤ 100 ms per MB); `ratio` is the median over html5lib's parse.

Then hostile documents (each sanitised once), which must be refused or cleaned in
bounded time whichever parser the depth guard picks.

With --candidates, the parse alone of each HTML library issue 17 weighed that is
installed (lxml and nh3 are not pinned: pip install them to compare).

Run: python -m bench.sanitize [--repeat 7] [--candidates]
"""
from __future__ import annotations

import argparse
import email
import random
import statistics
import time
from collections.abc import Callable

from selectolax.lexbor import LexborHTMLParser

from core.mail import sanitize
from core.mail.sanitize_css import _clean_plain_style
from core.mail.sanitize_tree import parse_document, parse_with_html5lib
from core.mail.sanitize_urls import _style_hints

from . import fill

TARGET_NEWSLETTER_MS = 40
TARGET_MS_PER_MB = 100


def newsletter_html() -> str:
    """The HTML part of bench.fill's newsletter (~200 KB)."""
    msg = email.message_from_bytes(fill.newsletter("reader@bench.test"))
    part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    return part.get_payload(decode=True).decode()


def shop_html(size: int) -> str:
    """An order confirmation of about SIZE bytes: nested tables, a row per item, inline CSS."""
    rng = random.Random(size)
    cell = 'style="padding:6px 8px;border-bottom:1px solid #e5e5e5;font:13px Arial,sans-serif;color:#222"'
    rows = []
    while sum(map(len, rows)) < size:
        n = len(rows) + 1
        rows.append(
            f'<tr><td {cell} width="64"><img src="https://img.shop.example/p/{n}.jpg" width="56" '
            f'height="56" alt="Item {n}" style="display:block;border:0"></td>'
            f'<td {cell}><a href="https://shop.example/p/{n}" style="color:#0645ad">Product {n} '
            f'{" ".join(rng.sample(fill.WORDS, 3))}</a><br><span style="color:#777;font-size:11px">'
            f'SKU {rng.randint(10000, 99999)} &middot; size {rng.choice("SML")}</span></td>'
            f'<td {cell} align="right">{rng.randint(1, 5)}</td>'
            f'<td {cell} align="right" nowrap>&euro;&nbsp;{rng.randint(1, 500)}.{rng.randint(0, 99):02d}</td></tr>\n')
    return ('<!doctype html><html><head><style>td{vertical-align:top}</style></head>'
            '<body bgcolor="#f5f5f5"><table width="100%" cellpadding="0" cellspacing="0"><tr><td align="center">'
            '<table width="640" cellpadding="0" cellspacing="0" style="background:#fff;border:1px solid #ddd">'
            + "".join(rows) + "</table></td></tr></table></body></html>")


HOSTILE = {
    "40,000 nested <div>": lambda: "<div>" * 40_000,
    "<b><div></b> x 10,000": lambda: "<b><div></b>" * 10_000,
    "500 <div> + 100,000 </p>": lambda: "<div>" * 500 + "</p>" * 100_000,
    "480 <font> re-opened 500x": lambda: ("<p>" + "".join(f"<font a={i}>" for i in range(480))
                                          + "</p>" + "<p>x" * 500),
    "250,000 <br>": lambda: "<br>" * 250_000,
}


def _times_ms(action, repeat: int) -> tuple[float, float, float]:
    """(first run, median and best of the REPEAT runs after it) in ms."""
    samples = []
    for _ in range(repeat + 1):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
    return samples[0], statistics.median(samples[1:]), min(samples[1:])


def main(argv: list[str] | None = None) -> None:
    """Print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--candidates", action="store_true",
                        help="also time the parse alone of the other HTML libraries installed")
    args = parser.parse_args(argv)
    documents = [("newsletter 200 KB", newsletter_html()), ("shop mail 200 KB", shop_html(200_000)),
                 ("shop mail 1 MB", shop_html(1_000_000))]
    _print_documents(documents, args.repeat)
    _print_hostile()
    if args.candidates:
        _print_candidates(documents, args.repeat)


def _print_documents(documents: list[tuple[str, str]], repeat: int) -> None:
    """Sanitising times of DOCUMENTS against the targets."""
    print(f"{'document':<19}{'bytes':>8}{'html5lib':>9}{'parse':>7}{'first':>7}{'median':>7}"
          f"{'best':>7}{'ms/MB':>7}{'ratio':>7}  target")
    for name, html in documents:
        _clean_plain_style.cache_clear()
        _style_hints.cache_clear()
        reference = _times_ms(lambda: parse_with_html5lib(html), min(repeat, 3))[1]
        parse = _times_ms(lambda: parse_document(html), repeat)[1]
        first, median, best = _times_ms(
            lambda: sanitize.sanitize_html(html, allow_remote=False, cid_map={}), repeat)
        per_mb = median / (len(html) / 1_000_000)
        target = (f"≤ {TARGET_NEWSLETTER_MS} ms {'met' if median <= TARGET_NEWSLETTER_MS else 'MISS'}"
                  if name.startswith("newsletter") else
                  f"≤ {TARGET_MS_PER_MB} ms/MB {'met' if per_mb <= TARGET_MS_PER_MB else 'MISS'}")
        print(f"{name:<19}{len(html):>8}{reference:>9.1f}{parse:>7.1f}{first:>7.1f}{median:>7.1f}"
              f"{best:>7.1f}{per_mb:>7.1f}{median / reference:>7.2f}  {target}")
    print("ms; html5lib = its parse alone (the old parser, a yardstick for the load); parse = "
          "parse_document; first = the first sanitising in this process.")


def _print_hostile() -> None:
    """How long each hostile document takes to be refused or cleaned."""
    print(f"\n{'hostile document':<28}{'bytes':>9}{'ms':>8}  outcome")
    for name, make in HOSTILE.items():
        html = make()
        began = time.perf_counter()
        result = sanitize.sanitize_html(html, allow_remote=False, cid_map={})
        outcome = "refused (too complex)" if result.blocked.get("too_complex") else "cleaned"
        print(f"{name:<28}{len(html):>9}{(time.perf_counter() - began) * 1000:>8.0f}  {outcome}")


def _print_candidates(documents: list[tuple[str, str]], repeat: int) -> None:
    """Median parse-alone times of the HTML libraries issue 17 weighed, those installed."""
    print(f"\n{'parser (median ms)':<24}" + "".join(f"{name:>19}" for name, _ in documents))
    for library, parse in _candidate_parsers().items():
        times = [_times_ms(lambda: parse(html), repeat)[1] for _, html in documents]
        print(f"{library:<24}" + "".join(f"{ms:>19.1f}" for ms in times))


def _candidate_parsers() -> dict[str, Callable[[str], object]]:
    """Lexbor and html5lib, and lxml and nh3 (not pinned) when installed."""
    parsers: dict[str, Callable[[str], object]] = {
        "lexbor (selectolax)": LexborHTMLParser, "html5lib (bleach)": parse_with_html5lib}
    try:
        import lxml.html
        parsers["lxml (libxml2)"] = lxml.html.document_fromstring
    except ImportError:
        pass
    try:
        import nh3  # ammonia cleans as it parses: its time is a whole (rougher) sanitising
        parsers["nh3 clean (ammonia)"] = lambda html: nh3.clean(html, tags=set(sanitize.ALLOWED_TAGS))
    except ImportError:
        pass
    return parsers


if __name__ == "__main__":
    main()
