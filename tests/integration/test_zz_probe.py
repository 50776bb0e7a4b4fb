from tests.helpers import imap_login, new_address

def test_probe(mail_stack, stack_db, domain):
    who = new_address(stack_db, domain, "probe")
    a, b = imap_login(mail_stack, who), imap_login(mail_stack, who)
    a.enable("CONDSTORE"); b.enable("CONDSTORE")
    items = [b"MESSAGES", b"UIDNEXT", b"UIDVALIDITY", b"HIGHESTMODSEQ"]
    a.create_folder("P"); a.append("P", b"Subject: one\r\n\r\nx\r\n")
    print("select", a.select_folder("P"))
    b.append("P", b"Subject: two\r\n\r\nx\r\n")
    print("A status after B append", a.folder_status("P", items))
    print("A sort no noop", a.sort(["REVERSE DATE"], ["ALL"]))
    print("A sort again", a.sort(["REVERSE DATE"], ["ALL"]))
    print("A noop", a.noop())
    b.select_folder("P"); uids = b.search(["ALL"]); b.add_flags(uids[:1], [b"\\Flagged"])
    print("A status after flag", a.folder_status("P", items))
    print("A fetch flags", a.fetch(uids[:1], ["FLAGS"]))
    b.delete_messages(uids[:1]); b.expunge()
    print("A status after expunge", a.folder_status("P", items))
    print("A sort after expunge", a.sort(["REVERSE DATE"], ["ALL"]))
    print("A noop", a.noop())
    b.unselect_folder(); b.delete_folder("P"); b.create_folder("P"); b.append("P", b"Subject: new\r\n\r\nx\r\n")
    try:
        print("A status after replace", a.folder_status("P", items))
    except Exception as e:
        print("A status raised", repr(e))
    try:
        print("A noop after replace", a.noop())
        print("A status after replace+noop", a.folder_status("P", items))
    except Exception as e:
        print("raised", repr(e))
    assert 0
