// streamz: polls /streamz/api/streams and redraws the table. Every value from a record is untrusted input
// (labels come from the traced app): it goes into the page only through textContent and setAttribute.
"use strict";

(() => {
  const POLL_MS = 1500;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const WIDTH = 600;
  const HEIGHT = 22;
  const FILTERS = ["route", "outcome", "anomaly"];
  const seen = new Set();
  let firstLoad = true;
  let latest = 0; // a slower, older answer must not overwrite a newer one (e.g. after a filter change)

  const byId = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svgEl(tag, attrs, title) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (title) {
      const tip = document.createElementNS(SVG_NS, "title");
      tip.textContent = title;
      node.appendChild(tip);
    }
    return node;
  }

  const seconds = (value) => (typeof value === "number" ? `${value.toFixed(value < 10 ? 3 : 1)} s` : "—");

  // As the record says (the stream processor's cadence section decides what a stall is); "—" when not measured.
  function stalls(record) {
    if (typeof record.stall_count !== "number") return "—";
    return record.stall_count > 0 ? `${record.stall_count} · ${seconds(record.stalled_s)}` : "0";
  }

  function startedAt(record) {
    const ns = record.start_time_unix_nano ?? record.first_chunk_time_unix_nano;
    return typeof ns === "number" ? new Date(ns / 1e6).toLocaleTimeString() : "—";
  }

  // The timeline: start at x=0; every row shares one scale (the longest stream shown) so rows compare.
  function timeline(plan, scale) {
    const box = svgEl("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: "none",
                               role: "img", "aria-label": "chunk arrivals" });
    const span = scale > 0 ? scale : 1;
    const x = (s) => Math.min(WIDTH - 1, Math.max(1, 1 + (s / span) * (WIDTH - 2)));
    box.appendChild(svgEl("line", { class: "axis", x1: 0, x2: WIDTH, y1: HEIGHT / 2, y2: HEIGHT / 2 }));
    if (typeof plan.first_token_s === "number") {
      box.appendChild(svgEl("rect", { class: "ttft", x: x(0), y: 3, width: Math.max(x(plan.first_token_s) - x(0), 1),
                                      height: HEIGHT - 6 }, `first token after ${seconds(plan.first_token_s)}`));
      if (plan.source === "summary" && typeof plan.last_chunk_s === "number") {
        box.appendChild(svgEl("rect", { class: "streaming", x: x(plan.first_token_s), y: 5,
                                        width: Math.max(x(plan.last_chunk_s) - x(plan.first_token_s), 1),
                                        height: HEIGHT - 10 }, "streaming; chunk times not reported"));
      }
    }
    for (const stall of plan.stalls || []) {
      box.appendChild(svgEl("rect", { class: "stall", x: x(stall.from_s), y: 1,
                                      width: Math.max(x(stall.to_s) - x(stall.from_s), 2), height: HEIGHT - 2 },
                            `stall: ${seconds(stall.gap_s)} without a chunk, from ${seconds(stall.from_s)}`));
    }
    for (const t of plan.chunks || []) {
      box.appendChild(svgEl("line", { class: "chunk", x1: x(t), x2: x(t), y1: 4, y2: HEIGHT - 4,
                                      "vector-effect": "non-scaling-stroke" }));
    }
    box.appendChild(svgEl("line", { class: "marker start", x1: 1, x2: 1, y1: 0, y2: HEIGHT,
                                    "vector-effect": "non-scaling-stroke" }, "start"));
    if (typeof plan.end_s === "number") {
      box.appendChild(svgEl("line", { class: "marker end", x1: x(plan.end_s), x2: x(plan.end_s), y1: 0, y2: HEIGHT,
                                      "vector-effect": "non-scaling-stroke" }, `end at ${seconds(plan.end_s)}`));
    }
    return box;
  }

  function anomalyBadge(anomaly) {
    const badge = el("span", "anomaly", anomaly.kind || "anomaly");
    badge.setAttribute("data-kind", anomaly.kind || "");
    badge.setAttribute("data-severity", anomaly.severity || "");
    badge.title = [anomaly.severity, anomaly.detail].filter(Boolean).join(": ");
    return badge;
  }

  function row(entry, scale) {
    const record = entry.record;
    const tr = el("tr", "stream");
    tr.setAttribute("data-key", entry.key);
    if (entry.anomalies.length) tr.classList.add("anomalous");
    if (!firstLoad && !seen.has(entry.key)) tr.classList.add("fresh");
    seen.add(entry.key);
    tr.appendChild(el("td", "started", startedAt(record)));
    tr.appendChild(el("td", "route", record.route ?? "—"));
    tr.appendChild(el("td", "model", record.response_model ?? record.request_model ?? "—"));
    const outcome = el("td");
    const pill = el("span", "outcome", record.outcome ?? "unknown");
    pill.setAttribute("data-outcome", record.outcome ?? "");
    outcome.appendChild(pill);
    tr.appendChild(outcome);
    tr.appendChild(el("td", "ttft num", seconds(record.ttft_s)));
    tr.appendChild(el("td", "chunks num", record.chunk_count ?? entry.timeline.chunk_total ?? "—"));
    tr.appendChild(el("td", "duration num", seconds(record.duration_s)));
    tr.appendChild(el("td", "stalls num", stalls(record)));
    const cell = el("td", "timeline");
    cell.appendChild(timeline(entry.timeline, scale));
    cell.title = `${entry.timeline.source === "chunk_events" ? "measured chunk times" : "no chunk times"}; `
      + `0 … ${seconds(entry.timeline.span_s)}`;
    tr.appendChild(cell);
    const anomalies = el("td", "anomalies");
    for (const anomaly of entry.anomalies) anomalies.appendChild(anomalyBadge(anomaly));
    tr.appendChild(anomalies);
    return tr;
  }

  // Keeps the user's choice, even when that value is no longer among the streams kept.
  function fillSelect(select, values) {
    const current = select.value;
    const wanted = [...new Set([...values, ...(current ? [current] : [])])].sort();
    const have = [...select.options].slice(1).map((o) => o.value);
    if (wanted.join("\u0000") === have.join("\u0000")) return;
    while (select.options.length > 1) select.remove(1);
    for (const value of wanted) select.appendChild(new Option(value, value));
    select.value = current;
  }

  function renderAlerts(alerts) {
    const list = byId("alerts");
    list.replaceChildren(...alerts.map((a) => {
      const item = el("li");
      item.appendChild(anomalyBadge(a));
      item.appendChild(document.createTextNode(
        ` ${[a.route, a.response_model ?? a.request_model].filter(Boolean).join(" · ")} ${a.detail ?? ""}`));
      return item;
    }));
    byId("alerts-section").hidden = alerts.length === 0;
  }

  function query() {
    const params = new URLSearchParams();
    for (const name of FILTERS) if (byId(name).value) params.set(name, byId(name).value);
    return params;
  }

  async function refresh() {
    const params = query();
    const ticket = ++latest;
    try {
      const response = await fetch(`/streamz/api/streams?${params}`, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      if (ticket !== latest) return;
      fillSelect(byId("route"), body.facets.routes);
      fillSelect(byId("outcome"), body.facets.outcomes);
      fillSelect(byId("anomaly"), body.facets.anomalies);
      const scale = Math.max(0, ...body.streams.map((s) => s.timeline.span_s));
      byId("scale").textContent = scale > 0 ? `0 … ${seconds(scale)}` : "";
      byId("streams").replaceChildren(...body.streams.map((entry) => row(entry, scale)));
      byId("empty").hidden = body.streams.length > 0;
      renderAlerts(body.alerts);
      const status = byId("status");
      status.className = "";
      status.textContent = `showing ${body.streams.length} of ${body.matched} matching · ${body.kept} kept `
        + `(at most ${body.max_streams}) · ${body.recorded} seen · `
        + `${body.streams.filter((s) => s.record.stall_count > 0).length} shown stalled · `
        + `updated ${new Date().toLocaleTimeString()}`;
      firstLoad = false;
    } catch (error) {
      if (ticket !== latest) return;
      const status = byId("status");
      status.className = "error";
      status.textContent = `cannot reach tokenstream (${error.message}); retrying`;
    }
  }

  function start() {
    const initial = new URLSearchParams(window.location.search);
    for (const name of FILTERS) {
      const select = byId(name);
      const value = initial.get(name);
      if (value) {
        fillSelect(select, [value]);
        select.value = value;
      }
      select.addEventListener("change", () => {
        const params = query().toString();
        window.history.replaceState(null, "", params ? `?${params}` : window.location.pathname);
        refresh();
      });
    }
    refresh();
    window.setInterval(refresh, POLL_MS);
  }

  start();
})();
