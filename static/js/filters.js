// The rule builder: show only the fields each choice needs, add and remove rows without a
// round trip, and read the rule back as a sentence. Without this script the form still
// works: every field is shown and the row buttons ask the server.
"use strict";

(() => {
  const SIZE_FIELD = "size";

  function showFor(row) {
    const kind = row.querySelector("[data-kind]");
    if (!kind) { return; }
    for (const el of row.querySelectorAll("[data-show-for]")) {
      el.hidden = !el.dataset.showFor.split(" ").includes(kind.value);
    }
    const op = row.querySelector("[data-op]");
    if (op) {
      const want = kind.value === SIZE_FIELD ? "size" : "text";
      for (const option of op.options) { option.hidden = option.dataset.for !== want; }
      if (op.selectedOptions[0] && op.selectedOptions[0].hidden) {
        op.value = [...op.options].find((o) => !o.hidden).value;
      }
    }
  }

  function renumber(list) {
    const prefix = list.dataset.rows;
    [...list.children].forEach((row, i) => {
      for (const el of row.querySelectorAll("[name]")) {
        el.name = el.name.replace(/^(cond|act)-\d+-/, `${prefix}-${i}-`);
      }
      for (const el of row.querySelectorAll("[aria-label]")) {
        el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/^(Remove )?(\w+) \d+/, "$1$2 " + (i + 1)));
      }
      const remove = row.querySelector("button[name^='remove-']");
      if (remove) { remove.value = String(i); }
    });
  }

  function joiners(form) {
    const match = form.querySelector("[data-match]");
    const word = match && match.value === "any" ? "or" : "and";
    for (const list of form.querySelectorAll("[data-rows]")) {
      [...list.children].forEach((row, i) => {
        const joiner = row.querySelector(".joiner");
        if (joiner) { joiner.textContent = i === 0 ? "" : (list.dataset.rows === "cond" ? word : "and"); }
      });
    }
  }

  function addRow(list) {
    const last = list.lastElementChild;
    const row = last.cloneNode(true);
    for (const el of row.querySelectorAll("input, textarea")) {
      if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
      el.removeAttribute("aria-invalid");
    }
    for (const el of row.querySelectorAll(".field-error")) { el.remove(); }
    list.appendChild(row);
    renumber(list);
    showFor(row);
    const first = row.querySelector("select");
    if (first) { first.focus(); }
  }

  function quoted(text) { return `“${text}”`; }

  function sentence(form) {
    const match = form.querySelector("[data-match]");
    const conds = [...form.querySelectorAll("[data-rows='cond'] > li")].map((row) => {
      const field = row.querySelector("[data-kind]");
      const op = row.querySelector("[data-op]");
      const value = row.querySelector("[name$='-value']").value.trim();
      if (!value) { return ""; }
      let what = field.selectedOptions[0].textContent.replace(" …", "").replace(/ \(.*\)$/, "");
      if (field.value === "header") { what = `the header ${row.querySelector("[name$='-header']").value.trim()}`; }
      const unit = field.value === SIZE_FIELD ? ` ${row.querySelector("[name$='-unit']").selectedOptions[0].textContent}` : "";
      return `${what} ${op.selectedOptions[0].textContent.replace(" (* and ?)", "")} ${field.value === SIZE_FIELD ? value + unit : quoted(value)}`;
    }).filter(Boolean);
    const acts = [...form.querySelectorAll("[data-rows='act'] > li")].map((row) => {
      const kind = row.querySelector("[data-kind]");
      const label = kind.selectedOptions[0].textContent.replace("stop: ", "").replace(" with a message", "");
      if (kind.value === "move" || kind.value === "copy") { return `${label} ${row.querySelector("[name$='-folder']").value || "…"}`; }
      if (kind.value === "forward") { return `${label} ${row.querySelector("[name$='-address']").value || "…"}`; }
      return label;
    });
    if (!conds.length) { return ""; }
    const join = match && match.value === "any" ? " or " : " and ";
    return `When ${conds.join(join)}, ${acts.join(", ")}.`;
  }

  function setUp(form) {
    form.dataset.js = "1";
    const preview = form.querySelector("[data-preview]");
    const refresh = () => { joiners(form); if (preview) { preview.textContent = sentence(form); } };
    for (const row of form.querySelectorAll("[data-row]")) { showFor(row); }
    form.addEventListener("change", (event) => {
      const row = event.target.closest("[data-row]");
      if (row) { showFor(row); }
      refresh();
    });
    form.addEventListener("input", refresh);
    form.addEventListener("click", (event) => {
      const button = event.target.closest("button[name]");
      if (!button) { return; }
      const kind = button.name.split("-")[1];
      const list = form.querySelector(`[data-rows='${kind}']`);
      if (button.name.startsWith("add-")) {
        event.preventDefault();
        addRow(list);
      } else if (button.name.startsWith("remove-")) {
        event.preventDefault();
        if (list.children.length > 1) { button.closest("li").remove(); renumber(list); }
      }
      refresh();
    });
    refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form[data-builder]")) { setUp(form); }
  });
})();
