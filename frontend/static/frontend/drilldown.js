// Drill-down: a click on a bar or point of a chart that names teams, projects or runs opens that page.
// The server marks such figures with layout.meta.drilldown and puts [slug or id, URL] in each point's
// customdata (frontend/figures.py, drilldown); a point whose URL is null (unallocated) opens nothing.
// Loaded after charts.js, so its listeners run after the charts are drawn, on load and after htmx swaps.
"use strict";

function drilldownUrl(point) {
  const data = point && point.customdata;
  const url = Array.isArray(data) ? data[1] : null;
  // Only our own pages: a path on this site, never another origin.
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null;
}

function bindDrilldown(root) {
  root.querySelectorAll("[data-chart][data-rendered]").forEach((element) => {
    if (element.dataset.drilldown || !element.layout || !element.layout.meta || !element.layout.meta.drilldown) return;
    element.dataset.drilldown = "bound";
    element.on("plotly_click", (event) => {
      const url = drilldownUrl(event.points && event.points[0]);
      if (url) window.location.assign(url);
    });
    // A pointer over a mark that opens a page, plotly's crosshair elsewhere.
    element.on("plotly_hover", (event) => {
      const layer = element.querySelector(".nsewdrag");
      if (layer) layer.style.cursor = drilldownUrl(event.points && event.points[0]) ? "pointer" : "";
    });
    element.on("plotly_unhover", () => {
      const layer = element.querySelector(".nsewdrag");
      if (layer) layer.style.cursor = "";
    });
  });
}

document.addEventListener("DOMContentLoaded", () => bindDrilldown(document));
document.addEventListener("htmx:afterSettle", () => bindDrilldown(document));
