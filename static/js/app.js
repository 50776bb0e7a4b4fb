// Mailroom's page behaviour. No inline scripts: the Content-Security-Policy forbids them.
"use strict";

// Remember the browser's time zone so dates read "Today 09:12" in local time.
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && !document.cookie.includes("tz=" + encodeURIComponent(zone))) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  }
})();

document.addEventListener("DOMContentLoaded", () => {
  // Ask before anything marked data-confirm (deleting a folder, emptying Trash).
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    const text = (button && button.dataset.confirm) || form.dataset.confirm;
    if (text && !window.confirm(text)) {
      event.preventDefault();
      return;
    }
    // Disable submit buttons once sent, so a double click sends once.
    window.setTimeout(() => {
      for (const b of form.querySelectorAll("button[type=submit]")) { b.disabled = true; }
    }, 0);
  });
});
