// GreenGuild page behaviour: copy buttons and live import progress. No external scripts.
"use strict";

document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-copy]");
  if (!target) return;
  const field = document.getElementById(target.dataset.copy);
  field.select();
  navigator.clipboard?.writeText(field.value);
  target.textContent = "Copied";
});

// Poll the API for batches still pending or running and update their rows in place.
function refreshBatches() {
  const open = document.querySelectorAll('tr[data-status="pending"], tr[data-status="running"]');
  open.forEach(async (row) => {
    const response = await fetch(`/api/v1/imports/${row.dataset.batch}/`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const batch = await response.json();
    row.dataset.status = batch.status;
    row.querySelector("progress").value = batch.progress.progress_pct;
    row.querySelector(".status").textContent = batch.status + (batch.error ? ": " + batch.error : "");
    for (const field of ["rows_total", "rows_loaded", "rows_duplicate", "rows_rejected"]) {
      row.querySelector("." + field).textContent = batch[field];
    }
  });
}
if (document.querySelector("tr[data-batch]")) setInterval(refreshBatches, 2000);

// Drag and drop onto the upload form: the dropped file becomes the form's file, the user picks the source.
const dropzone = document.querySelector("[data-dropzone]");
if (dropzone) {
  const input = dropzone.querySelector('input[type="file"]');
  const label = dropzone.querySelector("[data-dropped]");
  for (const name of ["dragenter", "dragover"]) {
    dropzone.addEventListener(name, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("dragging"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("dragging");
    if (!event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    label.textContent = `Selected: ${input.files[0].name}`;
  });
  input.addEventListener("change", () => {
    label.textContent = input.files.length ? `Selected: ${input.files[0].name}` : "";
  });
}
