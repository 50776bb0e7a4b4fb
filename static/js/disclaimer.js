// Live preview of a disclaimer: the Markdown goes to the server, which renders and
// sanitises it exactly as for mail; the answer replaces the preview. No inline scripts (CSP).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-preview-url]");
  if (!form) { return; }
  const source = form.querySelector("textarea[name=markdown]");
  const preview = document.getElementById("disclaimer-preview");
  const status = document.getElementById("preview-status");
  const token = form.querySelector("input[name=csrf_token]").value;
  let timer = null;
  let latest = 0;

  const refresh = async () => {
    const ticket = ++latest;
    try {
      const response = await fetch(form.dataset.previewUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, "Accept": "application/json" },
        body: new URLSearchParams({ markdown: source.value }),
      });
      const answer = await response.json();
      if (ticket !== latest) { return; }  // a newer keystroke's answer will follow
      if (!response.ok) {
        status.textContent = answer.error || window.mailroomText("preview.unavailable");
        return;
      }
      preview.innerHTML = answer.html;  // sanitised on the server (core/mail/disclaimer.py)
      status.textContent = "";
    } catch (error) {
      if (ticket === latest) { status.textContent = window.mailroomText("preview.unavailable"); }
    }
  };

  source.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  });
});
