// GreenGuild page behaviour, on every page (base.html): the menu button, copy buttons, live import progress,
// the upload form's drop zone and search boxes over long selects. No external scripts.
"use strict";

(() => {
  // Loaded once per page even when a template includes it a second time.
  if (window.greenGuildSite) return;
  window.greenGuildSite = true;
  document.documentElement.classList.add("js");

  // Below 768 px the menu folds behind its button (site.css); Escape or a click elsewhere closes it.
  const toggle = document.querySelector("[data-menu-toggle]");
  const menu = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
  function setMenu(open) {
    menu.classList.toggle("open", open);
    toggle.setAttribute("aria-expanded", String(open));
  }
  if (menu) {
    toggle.addEventListener("click", () => setMenu(!menu.classList.contains("open")));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && menu.classList.contains("open")) {
        setMenu(false);
        toggle.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (menu.classList.contains("open") && !event.target.closest(".topbar")) setMenu(false);
    });
  }

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-copy]");
    if (!target) return;
    const field = document.getElementById(target.dataset.copy);
    field.select();
    navigator.clipboard?.writeText(field.value);
    target.textContent = "Copied";
  });

  // Poll the API for batches still pending or running and update their rows in place.
  const STATUS_WORDS = { pending: "Pending", running: "Running", done: "Done", partial: "Done, some rows rejected", failed: "Failed" };
  function refreshBatches() {
    const open = document.querySelectorAll('tr[data-status="pending"], tr[data-status="running"]');
    open.forEach(async (row) => {
      const response = await fetch(`/api/v1/imports/${row.dataset.batch}/`, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const batch = await response.json();
      row.dataset.status = batch.status;
      row.querySelector("progress").value = batch.progress.progress_pct;
      const words = STATUS_WORDS[batch.status] || batch.status;
      row.querySelector(".status").textContent = words + (batch.error ? ": " + batch.error : "");
      for (const field of ["rows_total", "rows_loaded", "rows_duplicate"]) {
        row.querySelector("." + field).textContent = batch[field];
      }
      const rejected = row.querySelector(".rows_rejected");
      if (batch.rows_rejected) {
        const link = document.createElement("a");
        link.href = `/api/v1/imports/${row.dataset.batch}/row-errors.csv`;
        link.textContent = `${batch.rows_rejected} (row errors)`;
        rejected.replaceChildren(link);
      } else {
        rejected.textContent = "0";
      }
    });
  }
  if (document.querySelector("tr[data-batch]")) setInterval(refreshBatches, 2000);

  // Drag and drop onto the upload form: the dropped file becomes the form's file. data-dropzone-ready says
  // the listeners are bound (a drop sent before that would be lost; the browser tests wait for it).
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
    dropzone.dataset.dropzoneReady = "true";
  }

  // A search box over a long select (<input data-select-search="select id">): keeps the options and groups
  // whose text contains every word typed, and always the chosen option.
  document.querySelectorAll("[data-select-search]").forEach((box) => {
    const select = document.getElementById(box.dataset.selectSearch);
    if (!select) return;
    const original = Array.from(select.children).map((node) => node.cloneNode(true));
    box.addEventListener("input", () => {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      const chosen = select.value;
      const matches = (option) =>
        option.value === chosen || option.value === "" || words.every((word) => option.textContent.toLowerCase().includes(word));
      const kept = [];
      for (const node of original) {
        if (node.tagName === "OPTGROUP") {
          const group = node.cloneNode(false);
          const inGroup = words.every((word) => node.label.toLowerCase().includes(word));
          for (const option of node.children) {
            if (inGroup || matches(option)) group.append(option.cloneNode(true));
          }
          if (group.children.length) kept.push(group);
        } else if (matches(node)) {
          kept.push(node.cloneNode(true));
        }
      }
      select.replaceChildren(...kept);
      select.value = chosen;
    });
  });
})();
