// Renders every server-built Plotly figure ({% plotly_figure %}): on load and after each htmx swap.
"use strict";

function renderCharts(root) {
  root.querySelectorAll("[data-chart]").forEach((element) => {
    if (element.dataset.rendered) return;
    const payload = JSON.parse(document.getElementById(element.dataset.chart).textContent);
    Plotly.newPlot(element, payload.figure.data, payload.figure.layout, payload.config);
    element.dataset.rendered = "true";
  });
}

document.addEventListener("DOMContentLoaded", () => renderCharts(document));
// Free the charts about to be replaced, then draw the new ones once htmx has settled them.
document.addEventListener("htmx:beforeSwap", (event) => {
  event.detail.target.querySelectorAll("[data-rendered]").forEach((element) => Plotly.purge(element));
});
document.addEventListener("htmx:afterSettle", () => renderCharts(document));
