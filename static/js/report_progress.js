// Report page: while the report is queued or being built, poll its status
// and show the progress; reveal the download links when it is ready.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("report-progress");
  if (!box) {
    return;
  }
  const fill = document.getElementById("report-progress-fill");
  const bar = document.getElementById("report-progress-bar");
  const show = (data) => {
    document.getElementById("report-status").textContent = data.status_display;
    document.getElementById("report-stage").textContent =
      data.status === "ready" ? "" : data.stage;
    fill.style.width = `${data.progress}%`;
    fill.textContent = `${data.progress}%`;
    bar.setAttribute("aria-valuenow", data.progress);
    box.dataset.status = data.status;
    if (data.status === "ready") {
      bar.classList.add("d-none");
      document.getElementById("report-ready").classList.remove("d-none");
      // Reload once so the page shows the digests and details of the result.
      window.location.reload();
    }
    if (data.status === "failed") {
      const error = document.getElementById("report-error");
      error.textContent = data.error;
      error.classList.remove("d-none");
    }
  };
  fill.style.width = `${fill.dataset.progress}%`;
  const poll = () => {
    if (box.dataset.status === "ready" || box.dataset.status === "failed") {
      return;
    }
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } })
      .then((response) => (response.ok ? response.json() : Promise.reject(response)))
      .then((data) => {
        show(data);
        window.setTimeout(poll, 1000);
      })
      .catch(() => window.setTimeout(poll, 3000));
  };
  poll();
});
