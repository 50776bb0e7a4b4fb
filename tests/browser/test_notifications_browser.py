"""New-mail notifications and the installable app in Chromium, on a phone and a desktop.

The browser's Notification is replaced by a recorder (headless Chromium shows none),
so the test sees what would have been shown; the mail itself goes through Postfix.
"""
import uuid

import pytest

from tests.helpers import deliver_raw, new_address, sign_in, wait_for_subject

pytestmark = pytest.mark.browser

# Notification.permission starts at "default" and becomes "granted" on requestPermission(),
# as a person's click on the browser's question would make it (kept for the next pages).
RECORD_NOTIFICATIONS = """
window.__shown = [];
window.__asked = 0;
let permission = sessionStorage.getItem("permission") || "default";
class RecordedNotification {
  constructor(title, options) { window.__shown.push({ title, body: options.body }); }
  static get permission() { return permission; }
  static requestPermission() { window.__asked += 1; permission = "granted";
    sessionStorage.setItem("permission", permission); return Promise.resolve(permission); }
  addEventListener() {}
}
window.Notification = RecordedNotification;
const Stream = window.EventSource;  // to know when the page listens
window.EventSource = class extends Stream {
  constructor(url) { super(url); this.addEventListener("open", () => { window.__listening = true; }); }
};
if (window.ServiceWorkerRegistration) {
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    window.__shown.push({ title, body: options.body });
    return Promise.resolve();
  };
}
"""


@pytest.mark.parametrize("width", [375, 1280])
def test_new_mail_shows_a_notification_and_the_unread_count(app, page, live_url, mail_stack, stack_db,
                                                             domain, width, monkeypatch):
    # The suite's waitress has 4 threads: streams may take 3, and those of closed pages end soon.
    monkeypatch.setitem(app.config, "NOTIFY_STREAMS", 3)
    monkeypatch.setitem(app.config, "NOTIFY_HEARTBEAT_SECONDS", 1)
    page.set_viewport_size({"width": width, "height": 800})
    page.context.grant_permissions(["notifications"], origin=live_url)
    page.add_init_script(RECORD_NOTIFICATIONS)
    address = new_address(stack_db, domain, "notify", spam_to_junk=False)
    sign_in(page, live_url, address)

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings sections").get_by_role("link", name="Notifications").click()
    page.get_by_label("Notify me of new mail in my Inbox").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("New-mail notifications are on.").wait_for()
    page.get_by_role("button", name="Allow notifications in this browser").click()
    page.get_by_text("This browser shows notifications from Mailroom.").wait_for()
    assert page.evaluate("window.__asked") == 1

    page.get_by_role("link", name="Mail", exact=True).click()
    page.get_by_role("heading", name="Inbox").wait_for()
    page.wait_for_function("() => window.__listening && document.title === 'Inbox · Mailroom'")
    subject = f"Lunch {uuid.uuid4().hex[:6]}"
    deliver_raw(mail_stack, address, (f"From: Ben Kato <ben@outside.test>\r\nTo: {address}\r\n"
                                      f"Subject: {subject}\r\n\r\nAt one?\r\n").encode())
    wait_for_subject(mail_stack, address, subject)  # it really is in the INBOX
    page.wait_for_function("() => document.title === '(1) Inbox · Mailroom'")
    page.wait_for_function("() => window.__shown.length === 1")
    assert page.evaluate("window.__shown") == [{"title": "New mail from Ben Kato", "body": subject}]


@pytest.mark.parametrize("width", [375, 1280])
def test_install_offered_and_the_shell_works_offline(page, live_url, stack_db, domain, width):
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, live_url, new_address(stack_db, domain, "install"))
    install = page.get_by_role("button", name="Install app")
    assert not install.is_visible()  # until the browser offers it
    page.evaluate("""() => {
      const offer = new Event("beforeinstallprompt", { cancelable: true });
      offer.prompt = () => { window.__prompted = true; };
      offer.userChoice = Promise.resolve({ outcome: "accepted" });
      window.dispatchEvent(offer);
    }""")
    install.click()
    page.wait_for_function("() => window.__prompted === true")
    install.wait_for(state="hidden")

    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)") == live_url + "/"
    page.wait_for_function("() => caches.has('mailroom-shell-v1')")
    cached = page.evaluate("caches.open('mailroom-shell-v1').then((c) => c.keys())"
                           ".then((ks) => ks.map((k) => new URL(k.url).pathname))")
    assert cached and all(path.startswith("/static/") for path in cached)  # no mail, no page
    page.context.set_offline(True)
    page.reload()  # the page itself is never cached: the offline page stands in
    page.get_by_role("heading", name="You are offline").wait_for()
    page.context.set_offline(False)
