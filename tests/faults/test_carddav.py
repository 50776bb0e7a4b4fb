"""Radicale stopped: the Contacts page says the address book service is down, while
compose (and its suggestions from recent mail) goes on working; once it is back, the
book is there again."""
from __future__ import annotations

from tests.helpers import csrf_token, new_address, signed_in_client

from .support import stopped


def test_address_book_down_says_so_and_compose_goes_on(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "bookfault")
    web = signed_in_client(app, address, ip="127.0.0.84")
    token = csrf_token(web.get("/contacts/new").get_data(as_text=True))
    assert web.post("/contacts/new", data={"csrf_token": token, "name": "Kept Safe",
                                           "emails": "kept@partner.example"}).status_code == 302
    with stopped(mail_stack, "carddav"):
        down = web.get("/contacts")
        assert down.status_code == 503
        assert "address book service (Radicale) does not answer" in down.get_data(as_text=True)
        # The daemon is named in the reader's language, as the sentence around it is.
        italian = web.get("/contacts", headers={"Accept-Language": "it"}).get_data(as_text=True)
        assert "Il servizio rubrica (Radicale) non risponde" in italian
        assert web.get("/compose").status_code == 200
        suggested = web.get("/compose/contacts?q=kept")
        assert suggested.status_code == 200 and suggested.get_json() == []
    assert "Kept Safe" in web.get("/contacts").get_data(as_text=True)
    assert web.get("/compose/contacts?q=kept").get_json()[0]["address"] == "kept@partner.example"
