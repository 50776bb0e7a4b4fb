// The list as a whole: "select all N messages" across pages, Undo for a few seconds,
// the zip download, and importing .eml files (button or drop) with upload progress.
"use strict";

(() => {
  const form = document.getElementById("bulk-form");
  const scope = document.getElementById("select-scope");
  const banner = document.getElementById("selectall-banner");
  const pageBox = document.getElementById("select-all");

  // Select all N: the page's checkbox first, then the banner offers the whole list.
  function showScope(all) {
    scope.value = all ? "all" : "";
    for (const el of banner.querySelectorAll("[data-when]")) { el.hidden = (el.dataset.when === "all") !== all; }
  }
  if (form && scope && banner && pageBox) {
    document.addEventListener("change", (event) => {
      if (!event.target.matches("#select-all, #message-list .rowcheck")) { return; }
      const everyRow = Array.from(form.querySelectorAll(".rowcheck")).every((box) => box.checked);
      banner.hidden = !everyRow;
      if (!everyRow) { showScope(false); }
    });
    document.getElementById("select-everything").addEventListener("click", () => showScope(true));
    document.getElementById("select-clear").addEventListener("click", () => {
      showScope(false);
      banner.hidden = true;
      pageBox.checked = false;
      for (const box of form.querySelectorAll(".rowcheck")) { box.checked = false; }
      pageBox.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  // A download leaves the page where it is: give the buttons back that app.js disabled.
  if (form) {
    form.addEventListener("submit", (event) => {
      if (!event.submitter || !event.submitter.classList.contains("export")) { return; }
      window.setTimeout(() => {
        for (const b of form.querySelectorAll("button[type=submit]")) { b.disabled = false; }
      }, 1500);
    });
  }

  // Undo stays for a few seconds, then goes: a move's (the server accepts it a little
  // longer) and a Send's (the worker sends the message once they are over).
  document.querySelectorAll(".undobar[data-seconds]").forEach((undo) => {
    window.setTimeout(() => undo.remove(), Number(undo.dataset.seconds || 10) * 1000);
  });

  // Import: one request per file, so each stays within the size limit and the bar moves.
  const importForm = document.getElementById("import-form");
  if (!importForm) { return; }
  const picker = document.getElementById("import-files");
  const bar = document.getElementById("import-progress");

  function send(file, done, total) {
    return new Promise((resolve) => {
      const data = new FormData(importForm);
      data.delete("message");
      data.append("message", file, file.name);
      const request = new XMLHttpRequest();
      request.open("POST", importForm.action);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) { bar.value = ((done + event.loaded / event.total) / total) * 100; }
      });
      request.addEventListener("loadend", () => resolve(request.status));
      request.send(data);
    });
  }

  async function upload(files) {
    if (!files.length) { return; }
    bar.hidden = false;
    bar.value = 0;
    for (const b of importForm.querySelectorAll("button")) { b.disabled = true; }
    for (let i = 0; i < files.length; i += 1) { await send(files[i], i, files.length); }
    bar.value = 100;
    window.location.reload(); // the page shows what became of each file
  }

  importForm.classList.add("auto");
  picker.addEventListener("change", () => upload(Array.from(picker.files)));
  importForm.addEventListener("submit", (event) => {
    event.preventDefault();
    upload(Array.from(picker.files));
  });

  const list = document.getElementById("message-list");
  const carriesFiles = (event) => event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files");
  list.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    list.classList.add("dropfiles");
  });
  list.addEventListener("dragleave", () => list.classList.remove("dropfiles"));
  list.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) { return; }
    event.preventDefault();
    list.classList.remove("dropfiles");
    upload(Array.from(event.dataTransfer.files));
  });
})();
