"""Every word a person reads is marked for translation and translated into Italian and German.

The messages are extracted from the sources afresh (babel.cfg), so a new page or message
fails here until it is marked and translated; the failure names the file, line and text.
"""
import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from tests.template_text import find_unmarked, mark

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("it", "de")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2), "N_": None}


def catalogue(language: str):
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def source_messages() -> dict:
    """msgid -> 'file:line' of its first use, extracted as `pybabel extract -F babel.cfg` does."""
    with open(ROOT / "babel.cfg") as cfg:
        from babel.messages.frontend import parse_mapping_cfg
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for filename, line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        found.setdefault(message, f"{filename}:{line}")
    return found


def test_every_template_text_is_marked_for_translation():
    unmarked = [f"{path.relative_to(ROOT)}:{u.line}: {u.kind} {u.text!r}"
                for path in sorted((ROOT / "templates").rglob("*.html"))
                for u in find_unmarked(path.read_text())]
    assert not unmarked, ("Not marked for translation (wrap in {{ _('…') }} or {% trans %}; "
                          "`python -m tests.template_text --fix FILE` does it):\n" + "\n".join(unmarked))


def test_no_template_formats_sizes_or_dates_in_english():
    """Jinja's own filesizeformat and strftime write '1.2 MB' and 'Tue' in every language;
    the webmail's `bytes`, `number`, `when` and `full_date` filters follow the person's."""
    english = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
               for path in sorted((ROOT / "templates").rglob("*.html"))
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if "filesizeformat" in line or "strftime(" in line]
    assert not english, "Formats in English only (use | bytes, | number, | when):\n" + "\n".join(english)


def test_the_marker_finds_and_wraps_unmarked_words():
    page = ('<h1 title="Your inbox">Hello {{ name }}</h1>\n<p class="x">{{ _("Done") }}</p>\n'
            '<button>Save\n  now</button>{{ field("a", "Display name") }}<code>flask run</code>')
    assert [(u.line, u.kind, u.text) for u in find_unmarked(page)] == [
        (1, "attribute", "Your inbox"), (1, "text", "Hello {{ name }}"),
        (3, "text", "Save\n  now"), (4, "literal", '"Display name"')]
    marked = mark(page)
    assert find_unmarked(marked) == []
    assert "{{ _('Hello %(name)s', name=name) }}" in marked
    assert "{% trans trimmed %}Save\n  now{% endtrans %}" in marked
    assert 'field("a", _("Display name"))' in marked


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language, source_messages):
    translated = catalogue(language)
    untranslated = []
    for msgid, where in sorted(source_messages.items(), key=lambda item: item[1]):
        entry = translated.get(msgid)
        strings = entry.string if entry else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(strings):
            untranslated.append(f"{where}: {msgid!r}")
    assert not untranslated, (f"No {language} translation (translations/{language}/LC_MESSAGES/"
                              "messages.po):\n" + "\n".join(untranslated))


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder(language):
    problems = [f"{message.id!r}: {error}" for message, errors in catalogue(language).check()
                for error in errors]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalogue_is_the_po_file(language):
    compiled = io.BytesIO()
    write_mo(compiled, catalogue(language))
    committed = (ROOT / "translations" / language / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert compiled.getvalue() == committed, (
        f"translations/{language}/LC_MESSAGES/messages.mo is older than its .po: "
        ".venv/bin/pybabel compile -d translations")


def test_messages_outside_a_request_stay_english():
    """The CLI and the stack's daemons raise the same service errors: they read in English."""
    from core.services.errors import InvalidInput
    from core.services.spam import spam_filter

    with pytest.raises(InvalidInput) as refused:
        spam_filter.parse_settings("6", "5", "", "")
    assert str(refused.value).startswith("The greylist threshold (6) must be below")


def test_a_translated_message_is_escaped_in_a_page():
    """Names people choose (a folder, a file) go into messages: they must stay text."""
    from jinja2 import Environment

    from core.i18n import lazy_gettext

    message = lazy_gettext("There is no folder %(value)s.", value="<img src=x onerror=alert(1)>")
    page = Environment(autoescape=True).from_string("<p>{{ message }}</p>").render(message=message)
    assert page == "<p>There is no folder &lt;img src=x onerror=alert(1)&gt;.</p>"


def test_counted_messages_agree_with_the_number_and_group_its_digits():
    """'1 messaggio spostato', '1.204 messaggi spostati': the whole sentence follows the count,
    and numbers in messages are written as the language writes them."""
    from flask import Flask
    from flask_babel import Babel

    from core.i18n import lazy_ngettext, lazy_number
    from core.services.mail.bulkops import FLAGGED

    app = Flask(__name__)
    Babel(app, default_translation_directories=str(ROOT / "translations"),
          locale_selector=lambda: app.config["LANGUAGE"])
    moved = lambda n: lazy_ngettext("%(num)s message moved to %(destination)s.",  # noqa: E731
                                    "%(num)s messages moved to %(destination)s.", n, destination="Junk")
    said = {}
    for language in ("en", "it", "de"):
        app.config["LANGUAGE"] = language
        with app.test_request_context():
            said[language] = [str(moved(1)), str(moved(1204)), str(FLAGGED["read"](2)),
                              str(lazy_number(12345))]
    assert said["en"] == ["1 message moved to Junk.", "1,204 messages moved to Junk.",
                          "2 messages marked as read.", "12,345"]
    assert said["it"] == ["1 messaggio spostato in Junk.", "1.204 messaggi spostati in Junk.",
                          "2 messaggi contrassegnati come letti.", "12.345"]
    assert said["de"] == ["1 Nachricht nach Junk verschoben.", "1.204 Nachrichten nach Junk verschoben.",
                          "2 Nachrichten als gelesen markiert.", "12.345"]
    assert str(moved(3)) == "3 messages moved to Junk."  # outside a request: English


SCRIPT_WORDS = re.compile(r"""(textContent|innerText|title|placeholder)\s*=\s*["'`][A-Za-z]"""
                          r"""|setAttribute\(\s*["'](aria-label|title|placeholder)["']\s*,\s*["'`][A-Za-z]"""
                          r"""|\b(say|alert|confirm)\(\s*["'`][A-Za-z]|>[A-Z][a-z]+[^<>]*</""")


def test_scripts_take_the_words_they_show_from_the_page():
    """Words static/js shows come from the page's #ui-text block (portal/language.py), so
    they are translated like the rest; a literal 'Remove' or 'Sending…' stays English."""
    literal = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
               for path in sorted((ROOT / "static" / "js").glob("*.js"))
               for number, line in enumerate(path.read_text().splitlines(), 1)
               if SCRIPT_WORDS.search(line)]
    assert not literal, "Words in a script (add them to portal/language.py _ui_text):\n" + "\n".join(literal)


def test_every_daemon_a_page_may_name_as_down_has_a_translated_name():
    """Each store's SERVICE (English, for logs) is named in the reader's language on pages:
    'Il server IMAP (Dovecot) non risponde', not an Italian sentence around an English name.
    So every name a ServiceUnavailable is raised with is marked N_ (and so translated)."""
    from flask import Flask
    from flask_babel import Babel

    from core.mail import smtp
    from core.mail.errors import ServiceUnavailable

    unmarked = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                for path in sorted((ROOT / "core").rglob("*.py"))
                for number, line in enumerate(path.read_text().splitlines(), 1)
                if re.match(r'[A-Z_]*(SERVICE|DIRECTORY)\s*=\s*"', line) and "jobs.py" not in path.name
                or re.search(r'ServiceUnavailable\(\s*["\']', line)]
    assert not unmarked, "A daemon's name not marked with N_:\n" + "\n".join(unmarked)
    app = Flask(__name__)
    Babel(app, default_translation_directories=str(ROOT / "translations"), locale_selector=lambda: "it")
    with app.test_request_context():
        assert ServiceUnavailable(smtp.SERVICE).name == "server SMTP (Postfix)"
    assert ServiceUnavailable(smtp.SERVICE).name == "SMTP server (Postfix)"  # outside a request
