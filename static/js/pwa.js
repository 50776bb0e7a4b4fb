// The installable app: the service worker, "Install app", and new-mail notifications
// (the INBOX's unread count in the title and on the app's icon). No inline scripts.
"use strict";

(() => {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => {
      // Without it the app still works; it only cannot be installed or start offline.
    });
  }

  // "Install app" shows only where the browser offers installing (beforeinstallprompt).
  const install = document.getElementById("install-app");
  let offer = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    offer = event;
    if (install) { install.hidden = false; }
  });
  window.addEventListener("appinstalled", () => { if (install) { install.hidden = true; } });
  install?.addEventListener("click", async () => {
    if (!offer) { return; }
    offer.prompt();
    await offer.userChoice;
    offer = null;
    install.hidden = true;
  });

  // Settings → Notifications: the browser's permission, asked from a click.
  const state = document.querySelector("[data-permission-state]");
  const allow = document.getElementById("allow-notifications");
  function showPermission() {
    if (!state) { return; }
    const permission = "Notification" in window ? Notification.permission : "unsupported";
    state.textContent = {
      granted: window.mailroomText("notify.granted"),
      denied: window.mailroomText("notify.denied"),
      default: window.mailroomText("notify.default"),
      unsupported: window.mailroomText("notify.unsupported"),
    }[permission];
    if (allow) { allow.hidden = permission !== "default"; }
  }
  allow?.addEventListener("click", () => { Notification.requestPermission().then(showPermission); });
  showPermission();

  // New mail as it arrives, while notifications are on (the page names the stream).
  const stream = document.body.dataset.events;
  if (!stream) { return; }
  const title = document.title;
  function showUnseen(count) {
    document.title = count ? `(${count}) ${title}` : title;
    if ("setAppBadge" in navigator) {
      (count ? navigator.setAppBadge(count) : navigator.clearAppBadge()).catch(() => {});
    }
  }
  async function notify(mail) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    const heading = mail.folder === "INBOX"
      ? window.mailroomText("notify.new_mail", { sender: mail.from })
      : window.mailroomText("notify.new_mail_in", { sender: mail.from, folder: mail.folder });
    const options = { body: mail.subject || window.mailroomText("notify.no_subject"), tag: `mail-${mail.folder}-${mail.uid}`,
      icon: "/static/img/app-icon-192.png", data: { url: mail.url } };
    // Phones show notifications only through the service worker (which opens the message).
    const registration = "serviceWorker" in navigator ? await navigator.serviceWorker.getRegistration() : undefined;
    if (registration) {
      registration.showNotification(heading, options);
      return;
    }
    const shown = new Notification(heading, options);
    shown.addEventListener("click", () => { window.focus(); window.location.assign(mail.url); });
  }
  const events = new EventSource(stream);
  events.addEventListener("unseen", (event) => showUnseen(JSON.parse(event.data).inbox));
  events.addEventListener("mail", (event) => notify(JSON.parse(event.data)));
})();
