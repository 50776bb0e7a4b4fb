// Mailroom's page behaviour. No inline scripts: the Content-Security-Policy forbids them.
"use strict";

// The words scripts show, in the page's language: base.html renders them into the
// non-executable block #ui-text; "{name}" in them is replaced by VALUES.name.
let uiText = null;
function text(key, values = {}) {
  if (uiText === null) {
    const block = document.getElementById("ui-text");
    uiText = block ? JSON.parse(block.textContent) : {};
  }
  return (uiText[key] || key).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}
window.mailroomText = text;

// Remember the browser's time zone so dates read "Today 09:12" in local time.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.includes("tz=" + encodeURIComponent(zone))) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  }
})();

// The theme button cycles Auto → Light → Dark; the choice lives in a cookie so the
// server draws the next page in it straight away.
function setupThemeToggle() {
  const button = document.getElementById("theme-toggle");
  if (!button) { return; }
  const order = ["auto", "light", "dark"];
  button.addEventListener("click", () => {
    const next = order[(order.indexOf(button.dataset.theme) + 1) % order.length];
    button.dataset.theme = next;
    button.textContent = text(`theme.${next}`);
    button.setAttribute("aria-label", text("theme.label", { theme: text(`theme.${next}`) }));
    document.documentElement.dataset.theme = next;
    document.cookie = `theme=${next}; path=/; max-age=31536000; samesite=lax`;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupThemeToggle();
  // Ask before anything marked data-confirm (deleting a folder, emptying Trash).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    const text = (button && button.dataset.confirm) || form.dataset.confirm;
    if (text && !window.confirm(text)) {
      event.preventDefault();
      return;
    }
    // Disable submit buttons once sent, so a double click sends once; one with
    // data-busy says what is under way (a sign-in can wait seconds for the mail server).
    window.setTimeout(() => {
      for (const b of form.querySelectorAll("button[type=submit]")) {
        b.disabled = true;
        b.dataset.sent = "";
        if (b.dataset.busy) { b.dataset.label = b.textContent; b.textContent = b.dataset.busy; }
      }
    }, 0);
  });
});

// A page the browser brings back from its back-forward cache is as it was left, sent
// buttons and all: they are made usable again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) { return; }
  for (const b of document.querySelectorAll("button[data-sent]")) {
    b.disabled = false;
    delete b.dataset.sent;
    if ("label" in b.dataset) { b.textContent = b.dataset.label; delete b.dataset.label; }
  }
});
