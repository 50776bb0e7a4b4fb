"""Languages in Chromium: the browser's Italian, an Italian error page, German chosen in
Settings (German dates in the list), and the sign-in page's own choice kept in a cookie."""
import re
import uuid

import pytest

from tests.helpers import PASSWORD, deliver_raw, new_address, new_server_admin, sign_in, wait_for_subject

pytestmark = pytest.mark.browser


@pytest.mark.console_expected("Failed to load resource: the server responded with a status of 404 (NOT FOUND)")
def test_italian_from_the_browser_then_german_chosen_in_settings(page, live_url, mail_stack,
                                                                  stack_db, domain):
    address = new_address(stack_db, domain, "lingua")
    subject = f"Fattura {uuid.uuid4().hex[:8]}"
    # An older date shows as day and month in the list: "3 mar" / "3. März".
    deliver_raw(mail_stack, address, (f"From: anna@outside.test\r\nTo: {address}\r\n"
                                      f"Subject: {subject}\r\nDate: Tue, 03 Mar 2026 09:12:00 +0000\r\n"
                                      "\r\nCiao\r\n").encode())
    wait_for_subject(mail_stack, address, subject)
    page.set_extra_http_headers({"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"})

    page.goto(live_url + "/no-such-page")
    page.get_by_role("heading", name="Non trovato").wait_for()
    assert page.get_by_text("Non c'è nulla a questo indirizzo.").is_visible()
    assert page.locator("html").get_attribute("lang") == "it"

    page.goto(live_url + "/login")
    page.get_by_label("Indirizzo e-mail").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    page.get_by_role("heading", name="Posta in arrivo").wait_for()
    row = page.get_by_role("listitem").filter(has_text=subject)
    assert row.locator("time").inner_text() == "3 mar"
    assert row.locator("time").get_attribute("title").startswith("martedì 3 marzo 2026")

    page.get_by_role("link", name="Impostazioni").click()
    page.get_by_role("navigation", name="Sezioni delle impostazioni").get_by_role(
        "link", name="Lingua").click()
    page.get_by_label("Lingua delle pagine").select_option("de")
    page.get_by_role("button", name="Salva").click()
    page.get_by_role("status").filter(has_text="Die Sprache ist gespeichert.").wait_for()
    assert page.locator("html").get_attribute("lang") == "de"
    page.get_by_role("link", name="Mail", exact=True).click()
    page.get_by_role("heading", name="Posteingang").wait_for()
    row = page.get_by_role("listitem").filter(has_text=subject)
    assert row.locator("time").inner_text() == "3. März"
    assert re.match(r"Dienstag, 3\. März 2026, \d\d:\d\d$", row.locator("time").get_attribute("title"))

    # Signed out, the browser asks for Italian again; the sign-in page's choice wins.
    page.get_by_role("button", name="Abmelden").click()
    page.get_by_role("heading", name="Accedi").wait_for()
    page.get_by_label("Lingua", exact=True).select_option("de")
    page.get_by_role("button", name="Cambia").click()
    page.get_by_role("heading", name="Anmelden").wait_for()
    assert page.get_by_label("E-Mail-Adresse").is_visible()


@pytest.mark.parametrize("language, admin", [("it", "Amministrazione"), ("de", "Verwaltung")])
def test_an_admins_longer_words_fit_a_phone(page, live_url, mail_stack, stack_db, domain, language,
                                            admin):
    """Italian and German words are longer than English ones: the main menu wraps rather
    than pushing its last link off a 375 px screen (and widening every page)."""
    sign_in(page, live_url, new_server_admin(stack_db, domain, "telefono"))
    page.set_extra_http_headers({"Accept-Language": language})
    page.set_viewport_size({"width": 375, "height": 740})
    for path in ("/mail", "/settings/", "/admin/"):
        page.goto(live_url + path)
        page.wait_for_load_state()
        link = page.get_by_role("navigation", name={"it": "Principale", "de": "Hauptmenü"}[language]) \
            .get_by_role("link", name=admin)
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (path, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
