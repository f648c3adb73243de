// Line charts drawn as SVG by hand: one or more series over time, with a y axis and hour:minute ticks.
import { clear, h, s } from "./dom.js";

const W = 360;
const H = 160;
const PAD = { left: 38, right: 8, top: 8, bottom: 20 };

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function label(value) {
  if (value >= 1000) return `${(value / 1000).toFixed(value >= 10000 ? 0 : 1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 2 : 1);
}

function hhmm(epoch) {
  const d = new Date(epoch * 1000);
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// lines: [{ key, cls, name, values: [number|null] }], times: [epoch]
export function lineChart(figure, times, lines) {
  for (const old of figure.querySelectorAll("svg, .legend")) old.remove();
  const all = lines.flatMap((line) => line.values).filter((v) => typeof v === "number");
  const top = niceMax(Math.max(0, ...all));
  const x = (i) => PAD.left + (i / Math.max(1, times.length - 1)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": figure.querySelector("figcaption").textContent });
  for (const frac of [0, 0.5, 1]) {
    const v = top * frac;
    svg.append(s("line", { class: frac ? "grid" : "axis", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(s("text", { x: PAD.left - 4, y: y(v) + 3, "text-anchor": "end", text: label(v) }));
  }
  svg.append(s("line", { class: "axis", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom }));
  const ticks = [0, Math.floor((times.length - 1) / 2), times.length - 1];
  for (const i of ticks) {
    if (times[i] === undefined) continue;
    svg.append(s("text", { x: x(i), y: H - 4, "text-anchor": i === 0 ? "start" : i === times.length - 1 ? "end" : "middle", text: hhmm(times[i]) }));
  }
  for (const line of lines) {
    // Gaps (buckets without data) break the line instead of dropping it to zero.
    let d = "";
    let pen = false;
    line.values.forEach((v, i) => {
      if (typeof v !== "number") { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    });
    const single = line.values.filter((v) => typeof v === "number").length === 1;
    if (d) svg.append(s("path", { class: line.cls, d, "data-series": line.key }));
    if (single) {
      const i = line.values.findIndex((v) => typeof v === "number");
      svg.append(s("circle", { class: line.cls, cx: x(i), cy: y(line.values[i]), r: 2.5 }));
    }
  }
  figure.append(svg);
  if (lines.length > 1) {
    figure.append(h("div", { class: "legend" }, lines.map((line, i) => h("span", { class: `k${i + 1}`, text: `${line.name}  ` }))));
  }
  return svg;
}

export function resetChart(figure) {
  clear(figure);
}
