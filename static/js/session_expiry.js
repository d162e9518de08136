// Warns before the idle session expires (templates/includes/session_expiry.html).
// The server renders the seconds left; only "Stay signed in" renews the session
// (a POST to the keep-alive URL): staying on the page extends nothing.
"use strict";
(() => {
  const box = document.getElementById("session-expiry");
  if (!box) {
    return;
  }
  const warnMs = Number(box.dataset.warnSeconds) * 1000;
  const left = document.getElementById("session-expiry-left");
  const stay = document.getElementById("session-stay");
  const endingText = document.getElementById("session-expiry-text");
  const endedText = document.getElementById("session-ended-text");
  let deadline = Date.now() + Number(box.dataset.seconds) * 1000;

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    return cookie ? decodeURIComponent(cookie.split("=")[1]) : "";
  }

  function describe(ms) {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    if (seconds >= 60) {
      const minutes = Math.round(seconds / 60);
      return `${minutes} minute${minutes === 1 ? "" : "s"}`;
    }
    return `${seconds} second${seconds === 1 ? "" : "s"}`;
  }

  function showEnded() {
    endingText.classList.add("d-none");
    stay.classList.add("d-none");
    endedText.classList.remove("d-none");
  }

  function tick() {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      box.classList.remove("d-none");
      showEnded();
      return;
    }
    if (remaining <= warnMs) {
      left.textContent = describe(remaining);
      box.classList.remove("d-none");
    } else {
      box.classList.add("d-none");
    }
  }

  stay.addEventListener("click", async () => {
    stay.disabled = true;
    try {
      const response = await fetch(box.dataset.keepAliveUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
        redirect: "manual",
      });
      const json = response.ok ? await response.json() : null;
      if (json && typeof json.expires_in === "number") {
        deadline = Date.now() + json.expires_in * 1000;
      } else {
        deadline = Date.now();
      }
    } catch (error) {
      deadline = Date.now();
    } finally {
      stay.disabled = false;
      tick();
    }
  });

  tick();
  window.setInterval(tick, 1000);
})();
