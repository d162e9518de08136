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
