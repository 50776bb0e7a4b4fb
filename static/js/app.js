// Mailroom's page behaviour. No inline scripts: the Content-Security-Policy forbids them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Disable a form's submit button once it is sent, so a double click sends once.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) {
        button.setAttribute("aria-disabled", "true");
        window.setTimeout(() => { button.disabled = true; }, 0);
      }
    });
  }
});
