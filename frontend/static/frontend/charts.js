// Renders every server-built Plotly figure ({% plotly_figure %}): on load and after each htmx swap.
// Charts follow their card's width (Plotly's responsive config); on a narrow card the title wraps onto
// several lines and the top margin grows to hold them, so no title is clipped.
"use strict";

const TITLE_LINE_PX = 1.35; // line height, in font sizes
const MIN_PLOT_PX = 170; // the plot area keeps at least this height below a tall title and legend

// The title broken at spaces into lines that fit ``width`` pixels (about 0.56 em a character).
function wrapTitle(text, width, fontSize) {
  const words = text.replace(/<br>/g, " ").split(/\s+/).filter(Boolean);
  const perLine = Math.max(16, Math.floor((width - 16) / (fontSize * 0.56)));
  const lines = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && (lines[last] + " " + word).length <= perLine) lines[last] += " " + word;
    else lines.push(word);
  }
  return lines.join("<br>");
}

// Title text and top margin for the element's current width.
function titleFit(element) {
  const text = element.dataset.title || "";
  if (!text) return null;
  const fontSize = Number(element.dataset.titleSize) || 15;
  const wrapped = wrapTitle(text, element.clientWidth || 600, fontSize);
  const lines = wrapped.split("<br>").length;
  return {
    "title.text": wrapped,
    // Plotly anchors a wrapped title by its first line and lifts it about 6 px a further line: pad it back down.
    "title.pad.t": 12 + 6 * (lines - 1),
    "margin.t": Math.round(18 + lines * fontSize * TITLE_LINE_PX),
  };
}

// A tall wrapped title and a wrapped legend leave a narrow chart little room: give the plot its height back.
function keepPlotHeight(element) {
  const size = element._fullLayout?._size;
  if (!size || size.h >= MIN_PLOT_PX) return;
  Plotly.relayout(element, { height: element._fullLayout.height + (MIN_PLOT_PX - size.h) });
}

function renderCharts(root) {
  root.querySelectorAll("[data-chart]").forEach((element) => {
    if (element.dataset.rendered) return;
    const payload = JSON.parse(document.getElementById(element.dataset.chart).textContent);
    const layout = { ...payload.figure.layout, autosize: true };
    delete layout.width;
    const title = layout.title || {};
    element.dataset.title = (title.text || "").replace(/<br>/g, " ");
    element.dataset.titleSize = title.font?.size || 15;
    const fit = titleFit(element);
    if (fit) {
      layout.title = { ...title, text: fit["title.text"], pad: { ...(title.pad || {}), t: fit["title.pad.t"] } };
      layout.margin = { ...(layout.margin || {}), t: fit["margin.t"] };
    }
    const config = { ...payload.config, responsive: true };
    Plotly.newPlot(element, payload.figure.data, layout, config).then(() => keepPlotHeight(element));
    element.dataset.rendered = "true";
  });
}

// Plotly resizes the plots itself (responsive); titles are re-wrapped here when their line breaks change.
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    document.querySelectorAll("[data-chart][data-rendered]").forEach((element) => {
      const fit = titleFit(element);
      if (fit && fit["title.text"] !== element.layout?.title?.text) {
        Plotly.relayout(element, fit).then(() => keepPlotHeight(element));
      }
    });
  }, 150);
});

document.addEventListener("DOMContentLoaded", () => renderCharts(document));
// Free the charts about to be replaced, then draw the new ones once htmx has settled them.
document.addEventListener("htmx:beforeSwap", (event) => {
  event.detail.target.querySelectorAll("[data-rendered]").forEach((element) => Plotly.purge(element));
});
document.addEventListener("htmx:afterSettle", () => renderCharts(document));
