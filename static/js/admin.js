// Admin pages: small conveniences; every form works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A domain chooser shows its list at once.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // The one-time link is selected when focused, ready to copy.
  for (const input of document.querySelectorAll("input[data-select-all]")) {
    input.addEventListener("focus", () => input.select());
  }
  // "Mailboxes you can choose" adds the address as a new destination line.
  for (const button of document.querySelectorAll("button[data-append-to]")) {
    button.addEventListener("click", () => {
      const area = document.getElementById(button.dataset.appendTo);
      const lines = area.value.split("\n").map((l) => l.trim()).filter(Boolean);
      if (!lines.includes(button.dataset.value)) { lines.push(button.dataset.value); }
      area.value = lines.join("\n");
      area.focus();
    });
  }
  // "Copy" puts the text of another element (a DNS record) on the clipboard, and says so.
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copyStatus);
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent);
        status.textContent = window.mailroomText("copy.done");
      } catch {
        // No clipboard here (a plain-HTTP address, or refused): select it for the keyboard.
        window.getSelection().selectAllChildren(source);
        status.textContent = window.mailroomText("copy.manual");
      }
    });
  }
});
