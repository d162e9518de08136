// Branching logic and missing-data codes on a CRF form (crf.forms.field_wrappers).
// Each field's wrapper (.crf-item) may carry data-shown-when-field (another
// field's name) and data-shown-when-values (JSON list): the wrapper is hidden
// while that field has none of the values, and its inputs are disabled so the
// browser does not post them (their values stay on the page, back if the field
// is shown again). The server refuses a value for a hidden field anyway
// (crf.forms.branching). A "Missing?" code chosen (select.crf-missing)
// disables the field's own inputs: a coded field has no value.
"use strict";
(() => {
  const items = Array.from(document.querySelectorAll(".crf-item"));
  if (!items.length) {
    return;
  }

  function normalize(value) {
    const text = String(value).toLowerCase();
    if (text === "1" || text === "true") {
      return "true";
    }
    if (text === "0" || text === "false") {
      return "false";
    }
    return text;
  }

  function currentValue(form, name) {
    const element = form.elements.namedItem(name);
    if (!element) {
      return "";
    }
    if (element instanceof RadioNodeList) {
      return element.value;
    }
    if (element.type === "checkbox") {
      return element.checked ? "true" : "false";
    }
    return element.value;
  }

  function update(item) {
    const form = item.closest("form");
    const field = item.dataset.shownWhenField;
    let shown = true;
    if (field && form) {
      const values = JSON.parse(item.dataset.shownWhenValues || "[]").map(normalize);
      shown = values.includes(normalize(currentValue(form, field)));
    }
    item.hidden = !shown;
    const missing = item.querySelector("select.crf-missing");
    const coded = Boolean(missing && missing.value);
    item.querySelectorAll("input, select, textarea").forEach((control) => {
      const isCode = control === missing;
      control.disabled = !shown || (!isCode && coded);
    });
  }

  function updateAll() {
    items.forEach(update);
  }

  new Set(items.map((item) => item.closest("form"))).forEach((form) => {
    if (form) {
      form.addEventListener("change", updateAll);
      form.addEventListener("input", updateAll);
    }
  });
  updateAll();
})();
