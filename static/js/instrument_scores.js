// Live instrument scores on the CRF pages (PROTOCOL §8), as the user answers.
// A mirror of crf/forms/scoring.py, which stays the owner: the stored scores
// are computed there when the form is saved. tests/e2e/test_instrument_scores.py
// compares these functions with the Python ones on random answer sets.
// Loaded as a file: the Content-Security-Policy forbids inline scripts.
"use strict";
(() => {
  // Python's round(x, digits) for x >= 0: the double's exact decimal value
  // (toFixed is exact up to 100 digits), ties to even. Returns the text with
  // `digits` decimals, as the stored Decimal prints.
  function roundHalfEven(x, digits) {
    const exact = x.toFixed(100);
    const point = exact.indexOf(".");
    const kept = exact.slice(0, point) + exact.slice(point + 1, point + 1 + digits);
    const rest = exact.slice(point + 1 + digits);
    let scaled = Number(kept);
    const half = "5".padEnd(rest.length, "0");
    if (rest > half || (rest === half && scaled % 2 === 1)) {
      scaled += 1;
    }
    const text = String(scaled).padStart(digits + 1, "0");
    return digits === 0 ? text
      : `${text.slice(0, text.length - digits)}.${text.slice(text.length - digits)}`;
  }

  const answered = (values) => values.filter((value) => value !== null);
  const sum = (values) => values.reduce((total, value) => total + value, 0);

  // Mirels: null unless all four items are answered.
  function mirels(items, threshold) {
    if (items.some((value) => value === null)) {
      return null;
    }
    const total = sum(items);
    return { total, impending: total >= threshold };
  }

  // MSTS: null unless all six are answered; percent of the maximum, 1 decimal.
  function msts(items, itemMax) {
    if (items.some((value) => value === null)) {
      return null;
    }
    const total = sum(items);
    const maximum = itemMax * items.length;
    return { total, percent: roundHalfEven(100 * total / maximum, 1) };
  }

  // TESS: (sum − n) / (4n) × 100 over the n items that apply; null if none.
  function tess(items) {
    const given = answered(items);
    const n = given.length;
    if (n === 0) {
      return null;
    }
    return roundHalfEven((sum(given) - n) / (4 * n) * 100, 1);
  }

  // EQ-5D-5L: the 5-digit profile, null unless every dimension is answered.
  function eq5dProfile(levels) {
    if (levels.some((value) => value === null)) {
      return null;
    }
    return levels.join("");
  }

  // BPI interference: mean of the answered items, 2 decimals; null if none.
  function bpiInterference(items) {
    const given = answered(items);
    if (given.length === 0) {
      return null;
    }
    return roundHalfEven(sum(given) / given.length, 2);
  }

  window.PerformScores = { roundHalfEven, mirels, msts, tess, eq5dProfile, bpiInterference };

  // A field's answer: an integer, null when unanswered, NaN when unreadable.
  function answer(form, name) {
    const radios = form.querySelectorAll(`input[type=radio][name="${name}"]`);
    let text;
    if (radios.length) {
      const chosen = [...radios].find((radio) => radio.checked);
      text = chosen ? chosen.value : "";
    } else {
      const input = form.querySelector(`[name="${name}"]`);
      text = input ? input.value.trim() : "";
    }
    if (text === "") {
      return null;
    }
    return /^\d+$/.test(text) ? Number(text) : NaN;
  }

  const DASH = "–";

  function show(output, parts) {
    output.querySelectorAll("[data-part]").forEach((part) => {
      const value = parts[part.dataset.part];
      part.textContent = value === null || value === undefined || value === ""
        ? (part.dataset.part === "note" ? "" : DASH) : String(value);
    });
  }

  function update(form, output) {
    const items = output.dataset.items.split(" ").map((name) => answer(form, name));
    if (items.some(Number.isNaN)) {
      show(output, {});
      return;
    }
    const key = output.dataset.instrumentScore;
    if (key === "mirels") {
      const threshold = Number(output.dataset.threshold);
      const score = mirels(items, threshold);
      show(output, score ? {
        total: score.total,
        note: score.impending ? `≥ ${threshold}: impending fracture` : "",
      } : {});
    } else if (key === "msts") {
      const score = msts(items, Number(output.dataset.mstsMax) / items.length);
      show(output, score || {});
    } else if (key === "tess") {
      show(output, { score: tess(items) });
    } else if (key === "eq5d") {
      show(output, { profile: eq5dProfile(items) });
    } else if (key === "bpi") {
      show(output, { interference: bpiInterference(items) });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-instrument-score]").forEach((output) => {
      const form = output.closest("form");
      if (!form) {
        return;
      }
      const refresh = () => update(form, output);
      form.addEventListener("input", refresh);
      form.addEventListener("change", refresh);
      refresh();
    });
  });
})();
