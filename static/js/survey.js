// The participant's survey pages (crf.epro.survey_pages). Loaded as a file:
// the Content-Security-Policy forbids inline scripts.
// - Every change is saved at once (the form posted to its autosave URL), so a
//   closed tab loses nothing; the page's own buttons save too.
// - The EQ-5D VAS: the slider mirrors the number box, and a number and
//   "I prefer not to answer" exclude each other.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("survey-form");
  if (!form) {
    return;
  }
  const status = document.getElementById("autosave-status");
  const token = form.querySelector("[name=csrfmiddlewaretoken]");
  let timer = null;

  const save = () => {
    timer = null;
    fetch(form.dataset.autosaveUrl, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-CSRFToken": token ? token.value : "" },
      credentials: "same-origin",
    }).then((response) => {
      status.textContent = response.ok ? form.dataset.savedText : form.dataset.unsavedText;
      form.dataset.autosaved = response.ok ? "yes" : "no";
    }).catch(() => {
      status.textContent = form.dataset.unsavedText;
      form.dataset.autosaved = "no";
    });
  };
  const saveSoon = (delay) => {
    if (timer) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(save, delay);
  };

  const numberAnswered = (input) => {
    form.querySelectorAll(`input[type=checkbox][name="${input.name}"]`).forEach((box) => {
      if (input.value !== "") {
        box.checked = false;
      }
    });
    form.querySelectorAll(`input[data-range-for="${input.id}"]`).forEach((range) => {
      if (input.value !== "") {
        range.value = input.value;
      }
    });
  };

  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target.dataset.rangeFor) {
      const number = document.getElementById(target.dataset.rangeFor);
      number.value = target.value;
      numberAnswered(number);
      saveSoon(400);
    } else if (target.type === "number") {
      numberAnswered(target);
      saveSoon(600);
    }
  });
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (target.dataset.rangeFor || target.type === "number") {
      return; // saved on input
    }
    if (target.type === "checkbox" && target.checked) {
      form.querySelectorAll(`input[type=number][name="${target.name}"]`).forEach((number) => {
        number.value = "";
      });
    }
    saveSoon(0);
  });
});
