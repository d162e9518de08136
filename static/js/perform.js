// Site-wide behaviour. Loaded as a file: the Content-Security-Policy forbids inline scripts.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Forms marked data-confirm ask before submitting (e.g. irreversible decisions).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
  // The error summary of a refused form: brought into view and announced on
  // load; each link focuses its field (for a radio group, the chosen option
  // or the first) with its question in view (perform/error_summary.py).
  document.querySelectorAll(".error-summary").forEach((summary) => {
    summary.focus();
    summary.querySelectorAll("a[href^='#']").forEach((link) => {
      link.addEventListener("click", (event) => {
        const target = document.getElementById(link.getAttribute("href").slice(1));
        if (!target) {
          return;
        }
        event.preventDefault();
        const inputs = target.matches("input, select, textarea")
          ? [target] : [...target.querySelectorAll("input, select, textarea")];
        const field = inputs.find((input) => input.checked) || inputs[0] || target;
        const wrapper = target.closest("[id^='div_']") || target;
        wrapper.scrollIntoView({ block: "start" });
        field.focus({ preventScroll: true });
      });
    });
  });
  // Prevent double submission of any POST form (registered after the
  // confirmation above: a submission the user cancelled leaves it usable).
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) {
        return;
      }
      form.querySelectorAll("[type=submit]").forEach((button) => {
        window.setTimeout(() => { button.disabled = true; }, 0);
      });
    });
  });
});
