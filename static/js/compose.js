// Compose: uploads with progress, drag and drop, address suggestions, draft autosave.
// No inline scripts: the Content-Security-Policy forbids them.
"use strict";

(() => {
  const form = document.getElementById("compose");
  if (!form) return;
  const AUTOSAVE_MS = 30000;
  const el = form.elements;
  const list = document.getElementById("att-list");
  const status = document.getElementById("draft-status");
  const fileInput = document.getElementById("c-files");
  const state = { sending: false, discarding: false, saving: false, uploading: false, queue: [] };

  const say = (text) => { status.textContent = text; };
  const t = window.mailroomText;
  // Sizes as the server writes them (webmail/format.py bytes): the page's language, one decimal for MB.
  const decimal = (n, digits) => n.toLocaleString(document.documentElement.lang || undefined,
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const sizeText = (n) => n < 1024 ? t("size.b", { size: n })
    : n < 1048576 ? t("size.kb", { size: decimal(Math.round(n / 1024), 0) })
    : t("size.mb", { size: decimal(n / 1048576, 1) });

  // ---- what the form holds, to tell whether it changed since the last save
  function snapshot() {
    const fields = [];
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && !["csrf_token", "draft_uid", "message_id"].includes(name)) {
        fields.push([name, value]);
      }
    }
    const files = [...list.querySelectorAll(".att.is-done")].map((li) => li.dataset.id);
    return JSON.stringify([fields, files]);
  }
  let lastSaved = snapshot();
  const changed = () => snapshot() !== lastSaved;

  // ---- attachments: one upload at a time, the file as the raw request body
  fileInput.removeAttribute("name"); // files go up by script, never a second time with the form
  fileInput.addEventListener("change", () => { enqueue(fileInput.files); fileInput.value = ""; });

  function storedTotal() {
    return [...list.querySelectorAll(".att.is-done")].reduce((sum, li) => sum + Number(li.dataset.size || 0), 0);
  }

  function enqueue(files) {
    for (const file of files) state.queue.push({ file, item: pendingItem(file) });
    next();
  }

  function next() {
    if (state.uploading) return;
    const job = state.queue.shift();
    updateClip();
    if (!job) return;
    state.uploading = true;
    upload(job).then(() => { state.uploading = false; next(); });
  }

  function pendingItem(file) {
    const li = document.createElement("li");
    li.className = "att is-uploading";
    li.innerHTML = '<span class="att-name"></span><span class="att-size"></span>' +
      '<span class="att-state"></span><progress max="100" value="0"></progress>';
    li.querySelector(".att-state").textContent = t("attachment.uploading");
    li.querySelector(".att-name").textContent = file.name;
    li.querySelector(".att-size").textContent = sizeText(file.size);
    li.querySelector("progress").setAttribute("aria-label", t("attachment.uploading_name", { name: file.name }));
    list.append(li);
    return li;
  }

  function upload({ file, item }) {
    const budget = Number(form.dataset.budget || 0);
    if (budget && storedTotal() + file.size > budget) {
      failed(item, file.name, form.dataset.tooLarge);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      const query = `?compose=${encodeURIComponent(el.compose_id.value)}&name=${encodeURIComponent(file.name)}`;
      xhr.open("POST", form.dataset.uploadUrl + query);
      xhr.setRequestHeader("X-CSRFToken", el.csrf_token.value);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Accept", "application/json");
      const bar = item.querySelector("progress");
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) { bar.max = event.total; bar.value = event.loaded; }
      });
      xhr.addEventListener("load", () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = {}; }
        if (xhr.status === 200) attached(item, data);
        else failed(item, file.name, data.error || t("upload.failed", { status: xhr.status }));
        resolve();
      });
      xhr.addEventListener("error", () => {
        failed(item, file.name, t("upload.interrupted"));
        resolve();
      });
      xhr.send(file);
    });
  }

  function removeButton(id, name) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.textContent = t("attachment.remove");
    button.setAttribute("aria-label", t("attachment.remove_name", { name }));
    if (id) button.dataset.remove = id; else button.dataset.dismiss = "";
    return button;
  }

  function attached(item, data) {
    item.className = "att is-done";
    item.dataset.id = data.id;
    item.dataset.size = data.size;
    item.querySelector(".att-name").textContent = data.filename;
    item.querySelector(".att-state").textContent = t("attachment.attached");
    item.querySelector("progress").remove();
    item.append(removeButton(data.id, data.filename));
  }

  function failed(item, name, message) {
    item.className = "att is-failed";
    const bar = item.querySelector("progress");
    if (bar) bar.remove();
    const text = item.querySelector(".att-state");
    text.textContent = message;
    text.setAttribute("role", "alert");
    item.append(removeButton("", name));
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    const item = button.closest(".att");
    if (button.dataset.remove) {
      const body = new FormData();
      body.append("csrf_token", el.csrf_token.value);
      body.append("compose_id", el.compose_id.value);
      body.append("remove", button.dataset.remove);
      const response = await fetch(form.dataset.removeUrl, {
        method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) { say(t("attachment.not_removed")); return; }
    }
    item.remove();
    updateClip();
    fileInput.focus();
  });

  function updateClip() {
    document.getElementById("clip").hidden = !list.querySelector(".att.is-done");
  }

  // ---- drag and drop: anywhere on the page, so a near miss never makes the browser
  // leave the form to show the dropped file
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    form.classList.add("dropping");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) form.classList.remove("dropping");
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    form.classList.remove("dropping");
    enqueue(event.dataTransfer.files);
  });

  // ---- drafts: every 30 s when something changed, on "Save draft", and when the page is left
  async function saveDraft(force) {
    if (state.saving || state.sending || state.discarding || (!force && !changed())) return;
    state.saving = true;
    const taken = snapshot();
    try {
      const response = await fetch(form.dataset.draftUrl, {
        method: "POST", body: new FormData(form), headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json();
      if (response.ok && data.saved) {
        el.draft_uid.value = data.draft_uid || "";
        if (data.message_id) el.message_id.value = data.message_id;
        lastSaved = taken;
        say(t("draft.saved", { time: data.saved_at }));
      } else {
        say(data.error || t("draft.not_saved"));
      }
    } catch (err) {
      say(t("draft.no_answer"));
    } finally {
      state.saving = false;
    }
  }

  function beacon() {
    if (state.sending || state.discarding || !changed() || !navigator.sendBeacon) return;
    // The form data carries csrf_token; the server keeps track of the draft's UID itself.
    if (navigator.sendBeacon(form.dataset.draftUrl, new FormData(form))) lastSaved = snapshot();
  }

  window.setInterval(() => saveDraft(false), AUTOSAVE_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") beacon();
  });
  window.addEventListener("pagehide", beacon);

  // This runs before app.js's document-level listener (which disables the buttons),
  // so a submit handled here stops there and leaves the buttons usable.
  form.addEventListener("submit", (event) => {
    const by = event.submitter;
    if (by && by.id === "c-save") {
      event.preventDefault();
      event.stopPropagation();
      saveDraft(true);
      return;
    }
    if (by && by.id === "c-discard") {
      if (!window.confirm(t("draft.discard"))) {
        event.preventDefault();
        event.stopPropagation();
        return;
      }
      state.discarding = true;
      return;
    }
    if (state.uploading || state.queue.length) {
      event.preventDefault();
      event.stopPropagation();
      say(t("send.wait_uploads"));
      return;
    }
    if (!remindedOnce()) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    state.sending = true;
    say(t(by && by.id === "c-later" ? "send.scheduling" : "send.sending"));
  });

  // ---- Send later: the time is read in the browser's own zone (webmail/scheduled.py)
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) {
    document.getElementById("c-time-zone").value = zone;
    document.getElementById("c-zone-name").textContent = zone;
  }

  // ---- attachment reminder: asked once per form, in the words core/mail/reminder.py knows
  const MENTION = /\b(?:attach(?:ed|es|ing|ments?)?|allegat[oiae]|anh[aä]nge?|angeh[aä]ngt)\b/i;
  function ownText(body) {
    const lines = body.split("\n");
    const cut = lines.indexOf("-- ");
    const text = (cut >= 0 ? lines.slice(0, cut) : lines).join("\n")
      .split("---------- Forwarded message ----------")[0];
    return text.split("\n").filter((line) => !line.trimStart().startsWith(">")).join("\n");
  }
  function remindedOnce() {
    if (el.attachment_check.value === "asked") return true;
    el.attachment_check.value = "asked"; // the server need not ask again
    if (list.querySelector(".att.is-done") || !MENTION.test(ownText(el.body.value))) return true;
    return window.confirm(t("send.anyway", { reminder: form.dataset.reminder }));
  }

  // ---- signatures: the chosen identity's signature below "-- ", swapped without
  // touching anything typed (core/mail/signature.py places the first one)
  const signatureOf = (option) => (option?.dataset.signature || "").replace(/\r\n/g, "\n").replace(/^\n+|\n+$/g, "");
  let shownIdentity = el.from.selectedOptions[0];
  el.from.addEventListener("change", () => {
    const before = signatureOf(shownIdentity);
    const after = signatureOf(el.from.selectedOptions[0]);
    shownIdentity = el.from.selectedOptions[0];
    const body = el.body.value;
    const oldBlock = before ? `-- \n${before}\n` : "";
    const at = oldBlock ? body.indexOf(oldBlock) : -1;
    if (at >= 0 && after) {
      el.body.value = body.slice(0, at) + `-- \n${after}\n` + body.slice(at + oldBlock.length);
    } else if (at >= 0) { // no signature now: the old one goes, with the blank lines before it
      const head = body.slice(0, at).replace(/\n+$/, "");
      const rest = body.slice(at + oldBlock.length).replace(/^\n+/, "");
      el.body.value = rest ? `${head}\n\n${rest}` : `${head}\n`;
    } else if (after && !body.split("\n").includes("-- ")) {
      el.body.value = form.dataset.signatureAt === "above"
        ? `\n\n-- \n${after}\n\n${body.replace(/^\n+/, "")}`
        : `${body.replace(/\n+$/, "")}\n\n-- \n${after}\n`;
    }
    if (after && "markdown" in el.from.selectedOptions[0].dataset) el.markdown.checked = true;
  });

  // ---- keyboard: Ctrl+Enter sends; Enter in a one-line field moves on instead of sending
  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.defaultPrevented) return;
    if (event.ctrlKey || event.metaKey) {
      event.preventDefault();
      form.requestSubmit(document.getElementById("c-send"));
      return;
    }
    const field = event.target;
    if (field.matches("input[type=text]")) {
      event.preventDefault();
      const order = [...form.querySelectorAll("input[type=text], textarea")].filter((f) => f.offsetParent);
      const after = order[order.indexOf(field) + 1];
      if (after) after.focus();
    }
  });

  // ---- address suggestions: a combobox on the last comma-separated part of the field
  const cache = new Map();
  for (const input of form.querySelectorAll("input[data-suggest]")) suggestions(input);

  // ---- focus (after the fields were wrapped, which drops it): To when empty, else the
  // text, with the caret below the quote for replies (Roundcube's default too)
  if (!document.getElementById("compose-error")) {
    if (!el.to.value) {
      el.to.focus();
    } else {
      // A reply's text goes between the quote and the signature, when there is one.
      const mark = el.body.value.indexOf("\n-- \n");
      const end = mark > 0 ? mark - 1 : el.body.value.length;
      const at = form.dataset.caret === "end" ? end : 0;
      el.body.focus();
      el.body.setSelectionRange(at, at);
    }
  }

  function suggestions(input) {
    const box = document.createElement("ul");
    box.id = `${input.id}-suggestions`;
    box.className = "suggestions";
    box.setAttribute("role", "listbox");
    box.setAttribute("aria-label", t("suggestions.for", { label: input.labels[0].textContent }));
    box.hidden = true;
    const combo = document.createElement("div"); // the list is placed under the field
    combo.className = "combo";
    input.replaceWith(combo);
    combo.append(input, box);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", box.id);
    let timer = 0;
    let active = -1;

    const options = () => [...box.children];
    const close = () => {
      box.hidden = true; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    };
    const mark = (index) => {
      active = index;
      options().forEach((li, i) => li.setAttribute("aria-selected", String(i === index)));
      if (index >= 0) input.setAttribute("aria-activedescendant", options()[index].id);
    };
    const lastPart = () => input.value.split(",").pop().trim();
    const choose = (label) => {
      const parts = input.value.split(",");
      parts.pop();
      const kept = parts.map((p) => p.trim()).filter(Boolean);
      input.value = [...kept, label].join(", ") + ", ";
      close();
      input.focus();
    };
    const show = (found) => {
      box.replaceChildren();
      found.forEach((contact, i) => {
        const li = document.createElement("li");
        li.id = `${box.id}-${i}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.label = contact.label;
        li.textContent = contact.name ? `${contact.name} ` : "";
        const addr = document.createElement("span");
        addr.className = "addr";
        // A group of the address book: choosing it puts in every member's address.
        if (contact.group) addr.textContent = t("suggestion.group");
        else addr.textContent = contact.name ? `<${contact.address}>` : contact.address;
        li.append(addr);
        box.append(li);
      });
      box.hidden = !found.length;
      input.setAttribute("aria-expanded", String(!!found.length));
      mark(found.length ? 0 : -1);
    };
    const lookup = async () => {
      const query = lastPart();
      if (!query) { close(); return; }
      if (!cache.has(query)) {
        try {
          const response = await fetch(`${form.dataset.contactsUrl}?q=${encodeURIComponent(query)}`,
            { headers: { Accept: "application/json" }, credentials: "same-origin" });
          cache.set(query, response.ok ? await response.json() : []);
        } catch (err) { cache.set(query, []); }
      }
      if (lastPart() === query && document.activeElement === input) show(cache.get(query));
    };

    input.addEventListener("input", () => { window.clearTimeout(timer); timer = window.setTimeout(lookup, 150); });
    input.addEventListener("blur", () => window.setTimeout(close, 150));
    box.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
    box.addEventListener("click", (event) => {
      const li = event.target.closest("li");
      if (li) choose(li.dataset.label);
    });
    input.addEventListener("keydown", (event) => {
      if (box.hidden) return;
      const count = options().length;
      if (event.key === "ArrowDown") { event.preventDefault(); mark((active + 1) % count); }
      else if (event.key === "ArrowUp") { event.preventDefault(); mark((active - 1 + count) % count); }
      else if (event.key === "Escape") { event.preventDefault(); close(); }
      else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        choose(options()[active].dataset.label);
      }
    });
  }
})();
