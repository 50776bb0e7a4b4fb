"""The address book (issue 20 item 7): the webmail is a CardDAV client of the stack's
Radicale, so a phone (any CardDAV client signing in with the mail password) sees the
contacts made in the webmail and the webmail those the phone adds; nobody else can read
them; vCard files go in and out whole.
"""
from __future__ import annotations

import grp
import io
import os
import pwd
import re
import stat
from urllib.parse import unquote

import vobject

from core.mail.carddav import MKCOL_BODY
from core.services.access import app_passwords
from stack import carddav
from stack.daemons import running
from stack.layout import Layout
from tests.helpers import PASSWORD, csrf_token, imap_login, message, new_address, signed_in_client

from .contacts_support import HOME, Dav
from .test_two_factor import turn_on

# This file's own client addresses (Dovecot's penalty and the worker's limit are per address).
PHONE, STRANGER, TWO_FACTOR = "127.0.0.81", "127.0.0.82", "127.0.0.85"
MARCO = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:phone-marco-1\r\nFN:Marco Rossi\r\nN:Rossi;Marco;;;\r\n"
         "EMAIL;TYPE=INTERNET:marco@partner.example\r\nTEL:+39 333 1234567\r\nEND:VCARD\r\n")


def form_token(client, path: str) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def card_names(page: str) -> list[str]:
    return re.findall(r'href="/contacts/card/([^"/]+)"', page)


def test_the_webmail_and_a_phone_share_one_book_that_nobody_else_reads(app, mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "book")
    web = signed_in_client(app, address)
    made = web.post("/contacts/new", data={
        "csrf_token": form_token(web, "/contacts/new"), "name": "Priya Natarajan",
        "emails": "Priya@Partner.example", "phones": "+39 06 1234", "groups": "Work, Tennis", "note": "Tea"})
    assert made.status_code == 302 and "/contacts/card/" in made.headers["Location"]
    assert "priya@partner.example" in web.get(made.headers["Location"]).get_data(as_text=True)

    phone = Dav(mail_stack, address, PASSWORD, PHONE)
    status, home = phone.request("PROPFIND", f"/{address}/", HOME, Depth="1")
    assert status == 207 and f"/{address}/contacts/" in unquote(home) and "addressbook" in home
    status, cards = phone.report()
    assert status == 207 and "FN:Priya Natarajan" in cards and "priya@partner.example" in cards
    assert "CATEGORIES:Work,Tennis" in cards and "TEL:+39 06 1234" in cards

    status, _ = phone.request("PUT", phone.book + "phone-marco-1.vcf", MARCO, Content_Type="text/vcard")
    assert status == 201
    listed = web.get("/contacts?q=rossi").get_data(as_text=True)
    assert "Marco Rossi" in listed and "marco@partner.example" in listed and "Priya" not in listed
    tennis = web.get("/contacts?group=Tennis").get_data(as_text=True)
    assert "Priya Natarajan" in tennis and "Marco Rossi" not in tennis
    assert re.search(r'href="/compose\?to=priya(@|%40)partner.example">Write to everyone in Tennis<', tennis), tennis
    # Compose suggests the book's contacts first, then recent correspondents (from Sent).
    imap = imap_login(mail_stack, address)
    try:
        imap.append("Sent", message(address, "Marcella Conti <marcella@partner.example>", "Minutes").as_bytes())
    finally:
        imap.logout()
    suggested = web.get("/compose/contacts?q=marc").get_json()
    assert [s["address"] for s in suggested] == ["marco@partner.example", "marcella@partner.example"]
    assert suggested[0]["label"] == "Marco Rossi <marco@partner.example>"

    other = new_address(stack_db, domain, "other")
    stranger = Dav(mail_stack, other, PASSWORD, STRANGER)
    status, body = stranger.report(phone.book)
    assert status in (403, 404) and "Priya" not in body and "Marco" not in body
    status, _ = stranger.request("PUT", phone.book + "planted.vcf", MARCO.replace("phone-marco-1", "x"),
                                 Content_Type="text/vcard")
    assert status in (403, 404)
    assert "planted" not in phone.report()[1]
    # Last (Dovecot holds back this address after a failure): wrong passwords and forged
    # web-app logins are refused.
    assert Dav(mail_stack, address, "not-the-password", STRANGER).report()[0] == 401
    assert Dav(mail_stack, address, "mailroom-web:9999999999:" + "0" * 64, STRANGER).report()[0] == 401


def test_with_two_factor_sign_in_a_phone_syncs_with_an_app_password_only(mail_stack, stack_db, domain):
    address = new_address(stack_db, domain, "booktfa")
    with stack_db.transaction() as session:
        phone_password = app_passwords.create(session, address, "Phone")
    turn_on(stack_db, address)
    phone = Dav(mail_stack, address, phone_password, TWO_FACTOR)
    status, _ = phone.request("MKCOL", phone.book, MKCOL_BODY)
    assert status == 201
    assert phone.request("PUT", phone.book + "m.vcf", MARCO, Content_Type="text/vcard")[0] == 201
    assert "Marco Rossi" in phone.report()[1]
    # The main password is refused here as on IMAP (last: Dovecot then holds this address back).
    assert Dav(mail_stack, address, PASSWORD, TWO_FACTOR).report()[0] == 401


def test_vcard_files_go_in_and_out_whole(app, mail_stack, stack_db, domain):
    web = signed_in_client(app, new_address(stack_db, domain, "vcf"))
    token = form_token(web, "/contacts")
    two = (MARCO.replace("END:VCARD", "ADR;TYPE=WORK:;;Via Roma 1;Roma;;00100;Italy\r\nEND:VCARD")
           + "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna Weber\r\nEMAIL:anna@weber.example\r\nEND:VCARD\r\n")
    done = web.post("/contacts/import", data={"csrf_token": token, "vcards": (io.BytesIO(two.encode()), "old-phone.vcf")},
                    follow_redirects=True).get_data(as_text=True)
    assert "Imported 2 new contacts." in done and "Anna Weber" in done and "Marco Rossi" in done

    export = web.get("/contacts/export")
    assert export.status_code == 200 and export.mimetype == "text/vcard"
    assert export.headers["Content-Disposition"].startswith("attachment") and "contacts.vcf" in export.headers["Content-Disposition"]
    cards = list(vobject.readComponents(export.get_data(as_text=True)))
    assert sorted(c.fn.value for c in cards) == ["Anna Weber", "Marco Rossi"]
    assert all(c.uid.value for c in cards)
    marco = next(c for c in cards if c.fn.value == "Marco Rossi")
    assert marco.adr.value.city == "Roma"

    # The same file again updates the cards instead of doubling them; a new card is added.
    lena = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:lena-1\r\nFN:Lena Braun\r\nEND:VCARD\r\n"
    again = web.post("/contacts/import", data={"csrf_token": token,
                                               "vcards": (io.BytesIO(export.get_data() + lena), "contacts.vcf")},
                     follow_redirects=True).get_data(as_text=True)
    assert "Imported 1 new contact and updated 2." in again and again.count('href="/contacts/card/') == 3

    # Editing a contact here keeps what only the phone shows (its postal address).
    name = next(n for n in card_names(again) if "marco" in n)
    saved = web.post(f"/contacts/card/{name}", data={"csrf_token": token, "name": "Marco Rossi Jr",
                                                     "emails": "marco@partner.example", "phones": "", "groups": "",
                                                     "note": "met in Rome"})
    assert saved.status_code == 302
    one = web.get(f"/contacts/card/{name}/vcard")
    assert one.headers["Content-Disposition"].startswith("attachment")
    card = vobject.readOne(one.get_data(as_text=True))
    assert card.fn.value == "Marco Rossi Jr" and card.note.value == "met in Rome" and card.adr.value.city == "Roma"
    assert "tel" not in card.contents

    bad = web.post("/contacts/import", data={"csrf_token": token, "vcards": (io.BytesIO(b"BEGIN:VCARD\r\nFN\r\n"), "x.vcf")},
                   follow_redirects=True).get_data(as_text=True)
    assert "Nothing was imported" in bad
    refused = web.post("/contacts/new", data={"csrf_token": token, "name": "", "emails": "not an address"})
    assert refused.status_code == 400 and "is not an e-mail address" in refused.get_data(as_text=True)

    deleted = web.post(f"/contacts/card/{name}/delete", data={"csrf_token": token}, follow_redirects=True)
    assert "Marco Rossi Jr was deleted." in deleted.get_data(as_text=True)
    assert web.get(f"/contacts/card/{name}").status_code == 404


def test_a_group_is_renamed_and_deleted_on_every_card_and_compose_offers_it_whole(app, mail_stack, stack_db,
                                                                                  domain):
    address = new_address(stack_db, domain, "groups")
    web = signed_in_client(app, address)
    token = form_token(web, "/contacts")
    book = (MARCO.replace("END:VCARD", "CATEGORIES:Team\r\nADR:;;Via Roma 1;Roma;;00100;Italy\r\nEND:VCARD")
            + "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p1\r\nFN:Priya Natarajan\r\nEMAIL:priya@partner.example\r\n"
              "CATEGORIES:Tennis,Team\r\nEND:VCARD\r\n"
            + "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a1\r\nFN:Anna Weber\r\nTEL:+49 30 1234\r\n"
              "CATEGORIES:Team\r\nEND:VCARD\r\n")
    web.post("/contacts/import", data={"csrf_token": token, "vcards": (io.BytesIO(book.encode()), "team.vcf")})
    # Compose offers the group first; it puts in each member who has an address (not Anna).
    group, *_ = web.get("/compose/contacts?q=tea").get_json()
    assert group == {"name": "Team (2)", "address": "", "group": True,
                     "label": "Marco Rossi <marco@partner.example>, Priya Natarajan <priya@partner.example>"}

    bad = web.post("/contacts/group/rename", data={"csrf_token": token, "group": "Team", "new_name": "A, B"},
                   follow_redirects=True).get_data(as_text=True)
    assert "without commas" in bad
    renamed = web.post("/contacts/group/rename", data={"csrf_token": token, "group": "Team",
                                                       "new_name": " Core  team "}, follow_redirects=True)
    assert "The group Team is now Core team (3 contacts)." in renamed.get_data(as_text=True)
    phone = Dav(mail_stack, address, PASSWORD, PHONE)
    cards = phone.report()[1]
    assert cards.count("Core team") == 3 and "CATEGORIES:Team" not in cards and ",Team" not in cards
    assert "Tennis" in cards and "Via Roma 1" in cards  # other groups and fields kept

    deleted = web.post("/contacts/group/delete", data={"csrf_token": token, "group": "Core team"},
                       follow_redirects=True).get_data(as_text=True)
    assert "its 3 contacts stay in your book" in deleted and deleted.count('href="/contacts/card/') == 3
    cards = phone.report()[1]
    assert "Core team" not in cards and "CATEGORIES:Tennis" in cards
    gone = web.post("/contacts/group/delete", data={"csrf_token": token, "group": "Core team"},
                    follow_redirects=True).get_data(as_text=True)
    assert "There is no group “Core team”." in gone


def test_radicale_runs_as_its_own_user_and_only_it_reads_its_key(mail_stack):
    layout = Layout.from_config(mail_stack)
    record = running(layout, "carddav")
    assert record and pwd.getpwuid(os.stat(f"/proc/{record.pid}").st_uid).pw_name == carddav.USER
    text = carddav.config_file(layout).read_text()
    # A key of its own: never the one that lets the web app past two-factor sign-in.
    assert mail_stack["CARDDAV_KEY"] in text and mail_stack["WEB_AUTH_KEY"] not in text
    conf = carddav.config_file(layout).stat()
    assert stat.S_IMODE(conf.st_mode) == 0o640 and conf.st_uid == 0
    assert grp.getgrgid(conf.st_gid).gr_name == carddav.USER
    books = carddav.storage(layout).stat()
    assert stat.S_IMODE(books.st_mode) == 0o700 and pwd.getpwuid(books.st_uid).pw_name == carddav.USER
