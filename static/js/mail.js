// The mail page: selection, keyboard shortcuts and polling for new messages.
"use strict";

(() => {
  const list = document.getElementById("message-list");
  const rows = () => Array.from(document.querySelectorAll("#message-list .row"));
  let cursor = rows().findIndex((r) => r.classList.contains("selected"));

  function focusRow(index) {
    const all = rows();
    if (!all.length) { return; }
    cursor = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((r, i) => r.classList.toggle("cursor", i === cursor));
    const link = all[cursor].querySelector(".rowlink");
    link.focus();
  }

  function go(key) {
    const target = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (!target) { return false; }
    if (target.tagName === "A") { window.location.href = target.href; } else { target.click(); }
    return true;
  }

  function typing(event) {
    const el = event.target;
    return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) { return; }
    const dialog = document.getElementById("shortcuts");
    const key = event.key;
    if (key === "?") { dialog.showModal(); event.preventDefault(); return; }
    if (key === "/") { document.getElementById("q").focus(); event.preventDefault(); return; }
    if (key === "c") {  // no Compose while an admin reads someone's mailbox
      const fab = document.querySelector(".fab");
      if (fab) { window.location.href = fab.href; }
      return;
    }
    if ((key === "j" || key === "k") && !document.body.classList.contains("has-message")) {
      focusRow(cursor + (key === "j" ? 1 : -1));
      event.preventDefault();
      return;
    }
    const onRow = document.activeElement.classList.contains("rowlink") || document.activeElement === document.body;
    if ((key === "o" || key === "Enter") && cursor >= 0 && onRow) {
      rows()[cursor].querySelector(".rowlink").click();
      event.preventDefault();
      return;
    }
    if (go(key)) { event.preventDefault(); }
  });

  // Sorting applies as soon as it is chosen; the Apply button is for no-script browsers.
  const sortForm = document.querySelector(".sortform");
  if (sortForm) {
    sortForm.classList.add("auto");
    sortForm.addEventListener("change", () => sortForm.requestSubmit());
  }

  // The bulk toolbar shows its actions once something is selected.
  const toolbar = document.querySelector(".toolbar");
  const syncToolbar = () => {
    const any = document.querySelector("#message-list .rowcheck:checked") !== null;
    if (toolbar) { toolbar.classList.toggle("idle", !any); }
  };
  document.addEventListener("change", (event) => {
    if (event.target.matches(".rowcheck, #select-all")) { syncToolbar(); }
  });
  syncToolbar();

  const selectAll = document.getElementById("select-all");
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      for (const box of document.querySelectorAll("#message-list .rowcheck")) { box.checked = selectAll.checked; }
      syncToolbar();
    });
  }

  // Quoted text in plain-text mail starts folded, with a button to unfold it.
  for (const quote of document.querySelectorAll(".plainbody .mail-text > blockquote.quoted")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "unfold";
    button.textContent = window.mailroomText("quote.show");
    button.setAttribute("aria-expanded", "false");
    quote.hidden = true;
    button.addEventListener("click", () => {
      quote.hidden = !quote.hidden;
      button.setAttribute("aria-expanded", String(!quote.hidden));
      button.textContent = window.mailroomText(quote.hidden ? "quote.show" : "quote.hide");
    });
    quote.before(button);
  }

  // Drag messages onto a folder to move them (the selected ones, or the one dragged).
  const bulkForm = document.getElementById("bulk-form");
  if (bulkForm && bulkForm.querySelector("#move-target")) {
    for (const row of rows()) { row.draggable = true; }
    document.addEventListener("dragstart", (event) => {
      const row = event.target.closest && event.target.closest("#message-list .row");
      if (!row) { return; }
      const box = row.querySelector(".rowcheck");
      if (!box.checked) {
        for (const other of document.querySelectorAll("#message-list .rowcheck")) { other.checked = false; }
        box.checked = true;
      }
      event.dataTransfer.setData("text/plain", "mailroom-move");
      event.dataTransfer.effectAllowed = "move";
    });
    for (const folder of document.querySelectorAll(".folderpane .folder[data-folder]")) {
      folder.addEventListener("dragover", (event) => { event.preventDefault(); folder.classList.add("droptarget"); });
      folder.addEventListener("dragleave", () => folder.classList.remove("droptarget"));
      folder.addEventListener("drop", (event) => {
        event.preventDefault();
        const target = bulkForm.querySelector("#move-target");
        target.value = folder.dataset.folder;
        const submit = document.createElement("input");
        submit.type = "hidden";
        submit.name = "action";
        submit.value = "move";
        bulkForm.append(submit);
        bulkForm.submit();
      });
    }
  }

  // New mail without reloading: ask the server what arrived since UIDNEXT.
  const pane = document.querySelector(".listpane[data-poll]");
  if (!pane || !list) { return; }
  // New rows go on top only where the newest come first: page 1, no search, by date when
  // one row per message. As conversations, the server sends the rows of the conversations
  // the new mail joined or started; each replaces the row it grew from.
  const params = new URLSearchParams(window.location.search);
  const threaded = Boolean(pane.dataset.conversations);
  const firstPage = !params.get("q") && (params.get("page") || "1") === "1" && (threaded ||
    ((params.get("sort") || "date") === "date" && (params.get("order") || "desc") === "desc"));
  // A count keeps its number in data-value and shows it with the page language's grouping.
  function showCount(element, value) {
    element.dataset.value = String(value);
    element.textContent = value.toLocaleString(document.documentElement.lang);
  }
  function addConversations(data) {
    const holder = document.createElement("template");
    holder.innerHTML = data.rows;
    for (const row of holder.content.querySelectorAll(".row")) {
      const uids = row.querySelector(".rowcheck").value.split(",");
      for (const old of rows()) {
        if (!uids.includes(old.dataset.uid)) { continue; }
        if (old.classList.contains("selected")) { row.classList.add("selected"); }
        old.remove();
      }
    }
    list.prepend(holder.content);
    for (const [name, value] of Object.entries(data.conversations)) {
      const count = document.querySelector(`[data-count="${name === "total" ? "conversations" : "messages"}"]`);
      if (count) { showCount(count, value); }
    }
  }
  async function poll() {
    const url = `${pane.dataset.poll}&uidnext=${pane.dataset.uidnext}${threaded ? "&conversations=1" : ""}`;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) { return; }
      const data = await response.json();
      if (data.new && firstPage && threaded === Boolean(data.conversations)) {
        list.querySelector(".empty-list")?.remove();
        if (threaded) {
          addConversations(data);
        } else {
          list.insertAdjacentHTML("afterbegin", data.rows);
          const total = document.querySelector('[data-count="messages"]');
          if (total) { showCount(total, Number(total.dataset.value) + data.new); }
        }
      }
      pane.dataset.uidnext = data.uidnext;
      for (const [folder, unseen] of Object.entries(data.unseen)) {
        const pill = document.querySelector(`[data-unseen="${CSS.escape(folder)}"]`);
        if (!pill) { continue; }
        pill.textContent = unseen ? String(unseen) : "";
        pill.hidden = !unseen;
      }
      const current = document.querySelector('.folder[aria-current="page"]');
      const unseenCount = document.querySelector('[data-count="unseen"]');
      if (current && unseenCount && current.dataset.folder in data.unseen) {
        showCount(unseenCount, data.unseen[current.dataset.folder]);
      }
    } catch (error) {
      // The network or server is away for a moment; the next poll tries again.
    }
  }
  window.setInterval(poll, 15000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) { poll(); } });
})();
