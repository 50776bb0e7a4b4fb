// Mailroom's service worker: it keeps only the app's shell (styles, scripts, icons and
// an offline page) so the installed app starts and says "offline" without a network.
// It never stores mail or any page that needs a sign-in: those go to the network only.
"use strict";

const CACHE = "mailroom-shell-v1";
const OFFLINE = "/static/offline.html";
const SHELL = [
  OFFLINE,
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/pwa.js",
  "/static/img/favicon.svg",
  "/static/img/app-icon.svg",
  "/static/img/app-icon-192.png",
];

self.addEventListener("install", (event) => {
  // Whatever is not a GET goes straight to the network, past this worker: a form's
  // POST, and compose's sendBeacon as the page is left, which Chromium loses when
  // it is routed through a worker's fetch event during unload.
  if (event.addRoutes) {
    event.addRoutes({ condition: { not: { requestMethod: "GET" } }, source: "network" });
  }
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    // Pages come from the network only; offline, the offline page stands in.
    if (!self.navigator.onLine) { event.respondWith(caches.match(OFFLINE)); }
    return;
  }
  if (SHELL.includes(url.pathname)) {
    // The network first, so an upgraded server's styles are used at once; the copy
    // is for when there is no network.
    event.respondWith(fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        event.waitUntil(caches.open(CACHE).then((cache) => cache.put(url.pathname, copy)));
      }
      return response;
    }).catch(() => caches.match(url.pathname)));
  }
  // Everything else (mail, attachments, the event stream) is not touched.
});

// A click on a new-mail notification opens the message in the app's window.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/mail";
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((windows) => {
    const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
    return open ? open.focus().then((w) => w.navigate(target)) : self.clients.openWindow(target);
  }));
});
