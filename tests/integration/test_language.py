"""A person's language choice: stored, used for the pages, the messages services raise and
the text Mailroom writes for them (the vacation reply's default subject)."""
import pytest

from tests.integration.portal_support import post, signed_in_person
from tests.integration.test_route_audit import ROUTES, audit, methods  # noqa: F401 (audit: a fixture)


def test_the_chosen_language_beats_the_browser_and_reaches_service_messages(app, stack_db, domain):
    address, client = signed_in_person(app, stack_db, domain, "sprache")
    italian = {"Accept-Language": "it"}
    assert '<html lang="it"' in client.get("/mail", headers=italian).get_data(as_text=True)

    saved = post(client, "/settings/language", {"language": "de"})
    assert saved.status_code == 302
    page = client.get("/settings/vacation", headers=italian).get_data(as_text=True)
    assert '<html lang="de"' in page and "Die Sprache ist gespeichert." in page
    assert 'value="Abwesend"' in page  # the default subject of a new vacation reply

    # A service's refusal (raised lazily) reads in the person's language.
    refused = post(client, "/settings/forwarding", {"target": address, "keep": "on"})
    assert "Eine Weiterleitung an deine eigene Adresse wäre eine Schleife." in refused.get_data(as_text=True)

    post(client, "/settings/language", {"language": ""})  # back to the browser's
    assert "Posta in arrivo" in client.get("/mail", headers=italian).get_data(as_text=True)


OWN_PAGES = {"admin.rspamd_ui"}  # Rspamd's own web interface, passed through


@pytest.mark.parametrize("language", ["it", "de"])
def test_every_page_renders_in_italian_and_german(app, audit, language):
    """Each page a server admin can open (the route audit's list) renders in LANGUAGE."""
    client = audit.clients["server admin"]
    broken = []
    for endpoint in sorted(ROUTES):
        if "GET" not in methods(app, endpoint):
            continue
        response = client.client.get(audit.url(endpoint), headers={"Accept-Language": language},
                                     environ_base={"REMOTE_ADDR": client.ip})
        if response.status_code >= 500:
            broken.append(f"{endpoint}: {response.status_code}")
        elif (response.status_code == 200 and response.mimetype == "text/html" and endpoint not in OWN_PAGES
              and f'<html lang="{language}"' not in response.get_data(as_text=True)):
            broken.append(f"{endpoint}: not in {language}")
    assert not broken, "\n".join(broken)
