// flowship UI: plain JavaScript and hand-written SVG, no external requests.
// The filter and the view live in the URL hash: #view?key=value&…
"use strict";
(function () {
  const BASE = document.body.dataset.base || "/";
  const FILTER_KEYS = ["range", "from", "to", "src_ns", "dst_ns", "name", "label", "type", "action", "tier", "policy", "reporter"];
  const main = document.getElementById("main");
  const statusEl = document.getElementById("status");
  const tip = document.getElementById("tooltip");
  const form = document.getElementById("filter");
  const SVGNS = "http://www.w3.org/2000/svg";
  // Okabe-Ito: distinguishable with the common colour-vision deficiencies.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999"];
  const state = { view: "visualizer", params: new URLSearchParams(), vizMode: "status", metric: "connections", zoom: null,
    boardList: "enforced", selection: null, tab: "http", cursors: [], sort: null };

  // ---------- URL ----------
  function readHash() {
    const h = location.hash.replace(/^#/, "");
    const i = h.indexOf("?");
    state.view = (i < 0 ? h : h.slice(0, i)) || "visualizer";
    state.params = new URLSearchParams(i < 0 ? "" : h.slice(i + 1));
  }
  function filterQuery(extra) {
    const q = new URLSearchParams();
    for (const [k, v] of state.params) if (FILTER_KEYS.includes(k) && v !== "") q.append(k, v);
    if (extra) for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null && (v !== "" || k.startsWith("arc_"))) q.append(k, v); // arc_*: "" names a missing field
    return q;
  }
  function setHash(view, params) {
    const q = params.toString();
    location.hash = view + (q ? "?" + q : "");
  }
  function api(path, extra) {
    const url = BASE + "api/" + path + "?" + filterQuery(extra).toString();
    return fetch(url, { headers: { Accept: "application/json" } }).then(async (r) => {
      const body = await r.json().catch(() => ({ error: "answer was not JSON (HTTP " + r.status + ")" }));
      if (r.status === 401) showSignIn(body.error);
      if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
      return body;
    });
  }

  // ---------- sign-in (ui.auth; the server decides what each user sees) ----------
  const auth = { csrf: "", user: null };
  function csrfToken() {
    if (auth.csrf) return auth.csrf;
    const m = document.cookie.match(/(?:^|;\s*)flowship_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function post(path, body) {
    const headers = { "X-CSRF-Token": csrfToken(), Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(BASE + path, { method: "POST", headers: headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }
  function signedIn(who) {
    auth.user = who;
    auth.csrf = who.csrf_token || "";
    document.body.classList.remove("signed-out");
    document.body.dataset.user = who.name;
    document.getElementById("user-name").textContent = who.mode === "none" ? "no sign-in (local demo)" : who.name;
    document.getElementById("signout").hidden = who.mode === "none";
    document.getElementById("user").hidden = false;
  }
  function showSignIn(reason) {
    seq++;
    auth.user = null;
    document.body.classList.add("signed-out");
    document.body.dataset.state = "signin";
    delete document.body.dataset.user;
    document.getElementById("user").hidden = true;
    setStatus("");
    const f = el("form", { class: "signin", "aria-label": "Sign in" });
    f.append(el("h2", {}, "Sign in to flowship"),
      el("label", {}, "User name", el("input", { name: "username", autocomplete: "username" })),
      el("label", {}, "Password", el("input", { name: "password", type: "password", autocomplete: "current-password" })),
      el("label", {}, "or a Kubernetes token", el("textarea", { name: "token", rows: "2" })),
      el("button", { type: "submit" }, "Sign in"),
      el("p", { class: "error", role: "alert" }, reason && reason !== "sign in first" ? reason : ""));
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      const v = (n) => f.elements[n].value;
      const body = v("token").trim() ? { token: v("token").trim() } : { username: v("username"), password: v("password") };
      post("auth/signin", body).then(async (r) => {
        const who = await r.json().catch(() => ({}));
        if (!r.ok) throw new Error(who.error || ("HTTP " + r.status));
        signedIn(who);
        route();
        loadHints();
      }).catch((err) => { f.querySelector(".error").textContent = "Sign-in failed: " + err.message; });
    });
    main.replaceChildren(f);
    f.elements.username.focus();
  }
  document.getElementById("signout").addEventListener("click", () => {
    post("auth/signout").finally(() => { auth.csrf = ""; showSignIn(); });
  });

  // ---------- filter bar ----------
  function fillForm() {
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.name === "label") el.value = state.params.getAll("label").join(", ");
      else if (el.name === "range") el.value = state.params.has("from") ? "" : (state.params.get("range") || "1h");
      else el.value = state.params.get(el.name) || "";
    }
    const abs = form.elements.range.value === "";
    for (const l of form.querySelectorAll(".abs")) l.hidden = !abs;
  }
  form.elements.range.addEventListener("change", () => {
    const abs = form.elements.range.value === "";
    for (const l of form.querySelectorAll(".abs")) l.hidden = !abs;
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const el of form.elements) {
      if (!el.name || el.value.trim() === "") continue;
      if (el.name === "label") el.value.split(",").map((s) => s.trim()).filter(Boolean).forEach((l) => q.append("label", l));
      else if ((el.name === "from" || el.name === "to") && form.elements.range.value !== "") continue;
      else q.append(el.name, el.value.trim());
    }
    state.zoom = null; state.cursors = []; state.selection = null;
    setHash(state.view, q);
  });
  document.getElementById("f-clear").addEventListener("click", () => { state.zoom = null; setHash(state.view, new URLSearchParams()); });
  function addFilter(key, value) {
    const q = new URLSearchParams(state.params.toString());
    if (key === "label") q.append(key, value); else q.set(key, value);
    state.cursors = [];
    setHash(state.view, q);
  }
  function loadHints() {
    for (const h of ["src_ns", "dst_ns", "name", "tier", "policy"]) {
      api("hints", { hint: h }).then((r) => {
        const dl = document.getElementById("hint-" + h);
        dl.replaceChildren(...r.values.map((v) => { const o = document.createElement("option"); o.value = v; return o; }));
      }).catch(() => {});
    }
  }

  // ---------- helpers ----------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k.nodeType ? k : String(k));
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
    return e;
  }
  const fmt = (n) => Number(n).toLocaleString("en-US");
  function fmtBytes(n) { const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; }
  function setStatus(msg, isError) { statusEl.textContent = msg || ""; statusEl.classList.toggle("error", !!isError); }
  function showTip(ev, text) {
    tip.textContent = text; tip.hidden = false;
    const r = ev.target.getBoundingClientRect ? ev.target.getBoundingClientRect() : { left: 0, top: 0 };
    const x = ev.clientX !== undefined && ev.clientX !== 0 ? ev.clientX : r.left + r.width / 2;
    const y = ev.clientY !== undefined && ev.clientY !== 0 ? ev.clientY : r.top + r.height / 2;
    tip.style.left = Math.min(x + 14, window.innerWidth - 430) + "px";
    tip.style.top = (y + 14) + "px";
  }
  let tipOwner = null; // the element whose tooltip shows, so a late answer updates only its own
  function hideTip() { tip.hidden = true; tipOwner = null; }
  function emptyState(title, hints) {
    return el("div", { class: "empty", role: "note" }, el("strong", {}, title), ...hints.map((h) => el("div", {}, h)));
  }
  const NO_FLOWS = ["Is `flowship collect` running on the nodes, and `flowship index` writing to Elasticsearch?",
    "Try a longer time range, or Clear the filter."];
  function colourOf(map, key) { if (!map.has(key)) map.set(key, PALETTE[map.size % PALETTE.length]); return map.get(key); }

  // ---------- Flow Visualizer ----------
  function metricOf(a) { return state.metric === "bytes" ? a.bytes : state.metric === "packets" ? a.packets : a.connections; }
  function renderVisualizer(data) {
    const bar = el("div", { class: "toolbar" },
      el("span", {}, "View:"), toggleGroup(["namespaces", "names", "status"], state.vizMode, (v) => { state.vizMode = v; renderVisualizer(data); }),
      el("span", {}, "Thickness:"), toggleGroup(["connections", "bytes", "packets"], state.metric, (v) => { state.metric = v; renderVisualizer(data); }),
      state.zoom ? el("button", { type: "button", id: "zoom-out", onclick: () => { state.zoom = null; renderVisualizer(data); } }, "← all namespaces (zoomed into " + state.zoom + ")") : null,
      data.truncated ? el("span", { class: "muted" }, "showing the first " + data.arcs.length + " flow groups; narrow the filter") : null);
    let arcs = data.arcs;
    if (state.zoom) arcs = arcs.filter((a) => a.src.group === state.zoom || a.dst.group === state.zoom);
    if (arcs.length === 0) {
      main.replaceChildren(bar, emptyState("No flows in this range.", NO_FLOWS));
      return;
    }
    // Layout: groups (outer ring) and names (inner ring) share the circle by traffic.
    const groups = new Map();
    const nameKey = (e) => e.group + "\u0000" + e.name;
    for (const a of arcs) for (const e of [a.src, a.dst]) {
      if (!groups.has(e.group)) groups.set(e.group, { id: e.group, kind: e.group_kind, names: new Map(), weight: 0 });
      const g = groups.get(e.group);
      if (!g.names.has(nameKey(e))) g.names.set(nameKey(e), { ep: e, weight: 0 });
      const w = Math.max(metricOf(a), 0) + 1;
      g.names.get(nameKey(e)).weight += w; g.weight += w;
    }
    const glist = [...groups.values()].sort((a, b) => (a.kind === "namespace" ? 0 : 1) - (b.kind === "namespace" ? 0 : 1) || a.id.localeCompare(b.id));
    let nNames = 0; for (const g of glist) nNames += g.names.size;
    const total = glist.reduce((s, g) => s + g.weight, 0);
    const pad = 0.02, full = 2 * Math.PI - pad * glist.length;
    const minShare = Math.min(0.02, full / Math.max(nNames, 1) / 2);
    const share = (w) => minShare + (full - minShare * nNames) * (w / total);
    const pos = new Map();
    let ang = 0;
    const size = 760, c = size / 2, rOut = 262, rMid = 238, rIn = 216;
    const root = svg("svg", { class: "circle", viewBox: "0 0 " + size + " " + size, role: "img", "aria-label": "Flow circle: " + arcs.length + " flow groups" });
    const gc = new Map(), nc = new Map();
    const ring = svg("g");
    for (const g of glist) {
      const start = ang;
      for (const n of [...g.names.values()].sort((a, b) => a.ep.name.localeCompare(b.ep.name))) {
        const s = share(n.weight);
        pos.set(nameKey(n.ep), { a0: ang, a1: ang + s });
        const p = svg("path", { class: "ring-name", d: annulus(c, rMid, rIn, ang, ang + s), fill: state.vizMode === "names" ? colourOf(nc, n.ep.name) : "#c9d1d9", tabindex: 0 });
        const label = n.ep.name + " (" + n.ep.type + ", " + g.id + ")";
        p.addEventListener("mouseenter", (ev) => showTip(ev, label)); p.addEventListener("mouseleave", hideTip);
        p.addEventListener("focus", (ev) => showTip(ev, label)); p.addEventListener("blur", hideTip);
        ring.append(p);
        const room = Math.floor(s * (rIn + rMid) / 2 / 6);
        if (room >= 4) { // the name along its segment of the ring, when it fits
          const m = ang + s / 2, [tx, ty] = polar(c, (rIn + rMid) / 2, m);
          const flip = m > Math.PI / 2 && m < 3 * Math.PI / 2;
          const t = svg("text", { x: tx, y: ty, "text-anchor": "middle", "dominant-baseline": "central", class: "name-label",
            transform: "rotate(" + ((m * 180 / Math.PI) + (flip ? 180 : 0)).toFixed(1) + " " + tx + " " + ty + ")" });
          t.textContent = n.ep.name.length > room ? n.ep.name.slice(0, room - 1) + "…" : n.ep.name;
          ring.append(t);
        }
        ang += s;
      }
      const gp = svg("path", { class: "ring-group", d: annulus(c, rOut, rMid + 2, start, ang), fill: colourOf(gc, g.id), tabindex: 0, role: "button",
        "aria-label": (g.kind === "namespace" ? "namespace " : "") + g.id + ": zoom in", "data-group": g.id });
      const zoom = () => { state.zoom = state.zoom === g.id ? null : g.id; renderVisualizer(data); };
      gp.addEventListener("click", zoom);
      gp.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); zoom(); } });
      gp.addEventListener("mouseenter", (ev) => showTip(ev, g.id + " — click to zoom")); gp.addEventListener("mouseleave", hideTip);
      ring.append(gp);
      const mid = (start + ang) / 2;
      if (ang - start > 0.12) {
        const [tx, ty] = polar(c, rOut + 8, mid);
        const t = svg("text", { x: tx, y: ty, "text-anchor": mid > Math.PI ? "end" : "start", "dominant-baseline": "middle" });
        t.textContent = g.id; ring.append(t);
      }
      ang += pad;
    }
    const maxW = Math.max(...arcs.map(metricOf), 1);
    const flows = svg("g");
    const allowColour = "#1a7f37", denyColour = "#c0392b";
    for (const a of arcs.slice().sort((x, y) => metricOf(y) - metricOf(x))) {
      const s = pos.get(nameKey(a.src)), d = pos.get(nameKey(a.dst));
      const sa = (s.a0 + s.a1) / 2, da = (d.a0 + d.a1) / 2;
      const [x1, y1] = polar(c, rIn - 2, sa), [x2, y2] = polar(c, rIn - 2, da);
      const path = sa === da
        ? "M" + x1 + "," + y1 + " C" + polar(c, rIn - 80, sa - 0.15).join(",") + " " + polar(c, rIn - 80, sa + 0.15).join(",") + " " + x2 + "," + y2
        : "M" + x1 + "," + y1 + " Q" + c + "," + c + " " + x2 + "," + y2;
      const denied = a.action === "deny";
      let colour = state.vizMode === "status" ? (denied ? denyColour : allowColour)
        : state.vizMode === "names" ? colourOf(nc, a.src.name) : colourOf(gc, a.src.group);
      const w = 1.5 + 12 * metricOf(a) / maxW;
      const p = svg("path", { d: path, class: "arc " + (denied ? "denied " : "allowed ") + state.vizMode, stroke: colour,
        "stroke-width": w.toFixed(2), tabindex: 0, "data-action": a.action,
        "stroke-dasharray": denied && state.vizMode === "status" ? Math.max(6, 2 * w).toFixed(1) + " " + Math.max(4, 1.2 * w).toFixed(1) : null,
        "aria-label": a.src.name + " to " + a.dst.name + ", " + a.action });
      // Ports and policies come from /api/flows/arc on first hover or focus
      // (one small query for that arc), then stay on the arc object.
      const text = () => "from " + a.src.namespace + "/" + a.src.name + " (" + a.src.type + ")\nto " + a.dst.namespace + "/" + a.dst.name + " (" + a.dst.type + ")\n" +
        "action: " + a.action + "\nports: " + (a.detail ? (a.detail.ports.map((p) => p.port + "/" + p.proto).join(", ") || "-") : a.detailError || "loading…") +
        "\npolicies: " + (a.detail ? (a.detail.policies.join(", ") || "-") : a.detailError || "loading…") +
        "\nconnections " + fmt(a.connections) + " · bytes " + fmtBytes(a.bytes) + " · packets " + fmt(a.packets);
      const show = (ev) => {
        tipOwner = p; showTip(ev, text());
        if (a.detail || a.detailLoading) return;
        // Ask only when the pointer (or focus) rests on the arc for 120 ms, so
        // sweeping the mouse across the circle does not query every arc it crosses.
        setTimeout(() => {
          if (tipOwner !== p || a.detail || a.detailLoading) return;
          a.detailLoading = true;
          api("flows/arc", { arc_src_type: a.src.type, arc_src_ns: a.src.namespace, arc_src_name: a.src.name,
            arc_dst_type: a.dst.type, arc_dst_ns: a.dst.namespace, arc_dst_name: a.dst.name, arc_action: a.action })
            .then((r) => { a.detail = r.arc; }, (e) => { a.detailError = "(not loaded: " + e.message + ")"; })
            .finally(() => { a.detailLoading = false; if (tipOwner === p && !tip.hidden) showTip(ev, text()); });
        }, 120);
      };
      p.addEventListener("mouseenter", show); p.addEventListener("mousemove", (ev) => { tipOwner = p; showTip(ev, text()); });
      p.addEventListener("mouseleave", hideTip); p.addEventListener("focus", show); p.addEventListener("blur", hideTip);
      flows.append(p);
    }
    root.append(flows, ring);
    const legend = el("div", { class: "legend" }, el("h3", {}, state.vizMode === "status" ? "Status" : state.vizMode === "names" ? "Names (arcs: source name)" : "Namespaces (arcs: source namespace)"));
    if (state.vizMode === "status") {
      legend.append(el("ul", {}, legendLine(allowColour, "", "allowed (solid)"), legendLine(denyColour, "6 4", "denied (dashed)")));
    } else {
      const m = state.vizMode === "names" ? nc : gc;
      legend.append(el("ul", {}, [...m.entries()].slice(0, 30).map(([k, v]) => legendLine(v, "", k))));
    }
    legend.append(el("p", { class: "muted" }, fmt(arcs.length) + " flow groups, " + fmt(arcs.filter((a) => a.action === "deny").length) + " denied. " +
      "Outer ring: namespaces and network groups (click or Enter to zoom); inner ring: names; hover or focus an arc for details."));
    main.replaceChildren(bar, el("div", { class: "viz" }, root, legend));
  }
  function legendLine(colour, dash, label) {
    const s = svg("svg", { viewBox: "0 0 36 12" });
    s.append(svg("line", { x1: 2, y1: 6, x2: 34, y2: 6, stroke: colour, "stroke-width": 4, "stroke-dasharray": dash || null }));
    return el("li", {}, s, label);
  }
  function polar(c, r, a) { return [+(c + r * Math.sin(a)).toFixed(2), +(c - r * Math.cos(a)).toFixed(2)]; }
  function annulus(c, r1, r0, a0, a1) {
    const big = a1 - a0 > Math.PI ? 1 : 0;
    const [x0, y0] = polar(c, r1, a0), [x1, y1] = polar(c, r1, a1), [x2, y2] = polar(c, r0, a1), [x3, y3] = polar(c, r0, a0);
    return "M" + x0 + "," + y0 + " A" + r1 + "," + r1 + " 0 " + big + " 1 " + x1 + "," + y1 + " L" + x2 + "," + y2 + " A" + r0 + "," + r0 + " 0 " + big + " 0 " + x3 + "," + y3 + "Z";
  }
  function toggleGroup(values, current, onPick) {
    return el("div", { class: "group", role: "group" }, values.map((v) =>
      el("button", { type: "button", "aria-pressed": v === current ? "true" : "false", "data-value": v, onclick: () => onPick(v) }, v)));
  }

  // ---------- Policy Board ----------
  function renderBoard(data) {
    const tiers = data.lists[state.boardList] || [];
    const bar = el("div", { class: "toolbar" },
      toggleGroup(["enforced", "pending"], state.boardList, (v) => { state.boardList = v; route(); }), // the API answers the list asked for
      el("span", { class: "muted", id: "data-since" }, data.data_since ? "Policy data since " + new Date(data.data_since).toISOString().replace(".000", "") : "No flow document carries policy_hits yet."),
      el("span", { class: "muted" }, state.boardList === "pending" ? "Pending: the traces Felix recomputes with staged policies as if enforced (dashed cards are staged)." : "Enforced: the policies that decided the flows. Counts are connections (num_flows)."));
    if (tiers.length === 0) {
      main.replaceChildren(bar, emptyState("No policy hits in this range.", ["Policy Board counts come from flows indexed after `flowship setup` added policy_hits.", ...NO_FLOWS]));
      return;
    }
    const board = el("div", { class: "board", role: "list" });
    const rulesBox = el("div", { class: "rules", id: "rules" });
    for (const t of tiers) {
      const col = el("section", { class: "tier", role: "listitem", "data-tier": t.tier, "aria-label": "tier " + t.tier }, el("h3", {}, t.tier === "__PROFILE__" ? "Profiles" : "Tier " + t.tier));
      for (const p of t.policies) {
        col.append(el("button", { type: "button", class: "policy" + (p.staged ? " staged" : ""), "data-policy": p.name,
          "data-connections": p.connections, "data-allowed": p.allowed, "data-denied": p.denied, "data-passed": p.passed,
          onclick: () => openRules(t.tier, p.name, rulesBox) },
          el("div", {}, el("span", { class: "pname" }, p.name), el("span", { class: "kind" }, p.kind), p.staged ? el("span", { class: "staged-tag" }, "staged") : null),
          el("div", { class: "counts" },
            el("span", {}, el("b", {}, fmt(p.connections)), "conns"), el("span", { class: "c-allowed" }, el("b", {}, fmt(p.allowed)), "allowed"),
            el("span", { class: "c-denied" }, el("b", {}, fmt(p.denied)), "denied"), el("span", {}, el("b", {}, fmt(p.passed)), "passed"))));
      }
      board.append(col);
    }
    main.replaceChildren(bar, board, rulesBox);
  }
  function openRules(tier, name, box) {
    box.replaceChildren(el("p", { class: "muted" }, "Loading the rules of " + name + "…"));
    api("policies/rules", { rule_list: state.boardList, rule_tier: tier, rule_policy: name }).then((r) => {
      const rows = r.rules.map((x) => el("tr", { "data-rule": x.rule },
        el("td", {}, x.direction), el("td", { class: "num" }, x.rule === -1 ? "tier default (no rule matched)" : x.rule === -2 ? "not recorded" : x.rule),
        el("td", { class: "num" }, fmt(x.connections)), el("td", { class: "num" }, fmt(x.allowed)), el("td", { class: "num" }, fmt(x.denied)), el("td", { class: "num" }, fmt(x.passed))));
      box.replaceChildren(el("h3", {}, "Rules of " + name + " (tier " + tier + ", " + state.boardList + ")"),
        rows.length ? el("table", {}, el("thead", {}, el("tr", {}, ["direction", "rule", "connections", "allowed", "denied", "passed"].map((h) => el("th", {}, h)))), el("tbody", {}, rows))
          : emptyState("No rule hits for this policy in the range.", []));
      box.querySelector("h3").setAttribute("tabindex", "-1"); box.querySelector("h3").focus();
    }).catch((e) => box.replaceChildren(emptyState("Could not load the rules: " + e.message, [])));
  }

  // ---------- Service Graph ----------
  function renderServices(data) {
    if (data.nodes.length === 0) { main.replaceChildren(emptyState("No flows in this range.", NO_FLOWS)); return; }
    const nsList = [...new Set(data.nodes.map((n) => n.namespace))].sort((a, b) => (a === "-") - (b === "-") || a.localeCompare(b));
    // Namespaces as boxes in a grid (wrapping after `cols`), nodes stacked in each box.
    const colW = 230, rowH = 40, head = 36;
    const byNs = new Map(nsList.map((ns) => [ns, data.nodes.filter((n) => n.namespace === ns)]));
    const cols = Math.max(1, Math.min(nsList.length, Math.floor((main.clientWidth || 1300) / colW)));
    const rowHeights = [];
    nsList.forEach((ns, i) => { const r = Math.floor(i / cols); rowHeights[r] = Math.max(rowHeights[r] || 0, head + byNs.get(ns).length * rowH + 8); });
    const rowTop = rowHeights.map((_, r) => 8 + rowHeights.slice(0, r).reduce((x, y) => x + y + 16, 0));
    const width = cols * colW + 20, height = rowTop[rowTop.length - 1] + rowHeights[rowHeights.length - 1] + 8;
    const root = svg("svg", { class: "graph", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "Service graph" });
    const xy = new Map();
    nsList.forEach((ns, i) => {
      const r = Math.floor(i / cols), x = 10 + (i % cols) * colW, y = rowTop[r];
      root.append(svg("rect", { class: "nsbox", x: x, y: y, width: colW - 20, height: rowHeights[r], rx: 6 }));
      const t = svg("text", { x: x + 10, y: y + 20 }); t.textContent = ns === "-" ? "(no namespace)" : "namespace " + ns; root.append(t);
      byNs.get(ns).forEach((n, j) => xy.set(n.id, [x + 22, y + head + 12 + j * rowH]));
    });
    const maxC = Math.max(...data.edges.map((e) => e.connections), 1);
    const edgeLayer = svg("g"), nodeLayer = svg("g");
    for (const e of data.edges) {
      const [x1, y1] = xy.get(e.src), [x2, y2] = xy.get(e.dst);
      const dx = Math.max(Math.abs(x2 - x1) / 2, 60);
      const p = svg("path", { class: "edge" + (e.action === "deny" ? " denied" : ""), d: "M" + x1 + "," + y1 + " C" + (x1 + dx) + "," + y1 + " " + (x2 - dx) + "," + (y2 - 20) + " " + x2 + "," + y2,
        "stroke-width": (1.5 + 8 * e.connections / maxC).toFixed(2), tabindex: 0, role: "button", "data-action": e.action, "aria-label": "edge " + e.src + " to " + e.dst + " " + e.action });
      const txt = e.src + " → " + e.dst + "\naction " + e.action + "\nconnections " + fmt(e.connections) + " · bytes " + fmtBytes(e.bytes);
      const pick = () => { hideTip(); state.selection = { type: "edge", edge: e, src: nodeById(data, e.src), dst: nodeById(data, e.dst) }; renderServices(data); };
      p.addEventListener("click", pick); p.addEventListener("keydown", (ev) => { if (ev.key === "Enter") pick(); });
      p.addEventListener("mouseenter", (ev) => showTip(ev, txt)); p.addEventListener("mouseleave", hideTip);
      if (state.selection && state.selection.edge === e) p.classList.add("selected");
      edgeLayer.append(p);
    }
    for (const n of data.nodes) {
      const [x, y] = xy.get(n.id);
      const g = svg("g", { class: "node " + n.kind, tabindex: 0, role: "button", "data-node": n.id, "aria-label": n.kind + " " + n.namespace + "/" + n.name });
      if (n.kind === "service") g.append(svg("rect", { x: x - 9, y: y - 9, width: 18, height: 18, fill: "#E69F00" }));
      else g.append(svg("circle", { cx: x, cy: y, r: 9, fill: n.kind === "workload" ? "#56B4E9" : "#999999" }));
      const label = n.name + (n.kind === "service" ? " (svc)" : "");
      const t = svg("text", { x: x + 14, y: y + 4 }); t.textContent = label.length > 28 ? label.slice(0, 27) + "…" : label; g.append(t);
      const title = svg("title"); title.textContent = n.kind + " " + n.namespace + "/" + n.name; g.append(title);
      const pick = () => { hideTip(); state.selection = { type: "node", node: n }; renderServices(data); };
      g.addEventListener("click", pick); g.addEventListener("keydown", (ev) => { if (ev.key === "Enter") pick(); });
      if (state.selection && state.selection.node && state.selection.node.id === n.id) g.classList.add("selected");
      nodeLayer.append(g);
    }
    root.append(edgeLayer, nodeLayer);
    const tabs = el("div", { class: "tabs" });
    main.replaceChildren(el("p", { class: "muted" }, "Squares are services, circles workloads; red dashed edges were denied. Select a node or an edge (click or Enter) for its HTTP calls and DNS lookups."),
      el("div", { class: "graphbox" }, root), tabs);
    renderTabs(tabs);
  }
  function nodeById(data, id) { return data.nodes.find((n) => n.id === id); }
  function selectionParams() {
    const s = state.selection;
    if (!s) return {};
    if (s.type === "edge") return { sel_src_ns: s.src.namespace, sel_src_name: s.src.name, sel_dst_kind: s.dst.kind === "service" ? "service" : "", sel_dst_ns: s.dst.namespace, sel_dst_name: s.dst.name };
    if (s.node.kind === "service") return { sel_dst_kind: "service", sel_dst_ns: s.node.namespace, sel_dst_name: s.node.name };
    return { sel_src_ns: s.node.namespace, sel_src_name: s.node.name };
  }
  function renderTabs(box) {
    if (!state.selection) { box.replaceChildren(emptyState("Select a node or an edge to see its HTTP calls and DNS lookups.", [])); return; }
    const mk = (id, label) => el("button", { type: "button", role: "tab", id: "tab-" + id, "aria-selected": state.tab === id ? "true" : "false",
      onclick: () => { state.tab = id; renderTabs(box); } }, label);
    const panel = el("div", { class: "tabpanel", role: "tabpanel" }, el("p", { class: "muted" }, "Loading…"));
    box.replaceChildren(el("div", { role: "tablist" }, mk("http", "HTTP"), mk("dns", "DNS")), panel);
    const s = state.selection;
    const what = s.type === "edge" ? s.src.name + " → " + s.dst.name : s.node.namespace + "/" + s.node.name;
    if (state.tab === "http") {
      api("services/http", selectionParams()).then((r) => {
        panel.replaceChildren(el("p", {}, "HTTP calls of " + what), r.calls.length ? sortableTable(r.calls, [
          ["method", "method"], ["url", "URL"], ["code", "code"], ["service", "service"], ["count", "count", true], ["mean_duration_ms", "mean ms", true],
          ["max_duration_ms", "max ms", true], ["bytes_in", "bytes in", true], ["bytes_out", "bytes out", true]], (c) => /^[45]/.test(c.code), "http-calls")
          : emptyState("No HTTP calls recorded for " + what + ".", ["L7 logs need Calico's L7 collector (Envoy) on the workload's namespace."]));
      }).catch((e) => panel.replaceChildren(emptyState("Could not load HTTP calls: " + e.message, [])));
    } else {
      const p = selectionParams();
      const client = s.type === "node" ? (s.node.kind === "service" ? null : p) : { sel_src_ns: p.sel_src_ns, sel_src_name: p.sel_src_name };
      if (!client) { panel.replaceChildren(emptyState("DNS lookups belong to clients: select a workload.", [])); return; }
      api("services/dns", client).then((r) => {
        panel.replaceChildren(el("p", {}, "DNS lookups of " + client.sel_src_ns + "/" + client.sel_src_name), r.lookups.length ? sortableTable(r.lookups, [
          ["qname", "name"], ["qtype", "type"], ["rcode", "response"], ["count", "count", true], ["mean_latency_ms", "mean ms", true], ["max_latency_ms", "max ms", true]],
        (l) => l.rcode !== "NoError", "dns-lookups") : emptyState("No DNS lookups recorded for this workload.", ["DNS logs need Felix's DNS logging on."]));
      }).catch((e) => panel.replaceChildren(emptyState("Could not load DNS lookups: " + e.message, [])));
    }
  }
  function sortableTable(rows, cols, isBad, id) {
    const table = el("table", { id: id });
    const draw = () => {
      const sorted = rows.slice();
      if (state.sort) { const [k, dir] = state.sort; sorted.sort((a, b) => (a[k] > b[k] ? 1 : a[k] < b[k] ? -1 : 0) * dir); }
      table.replaceChildren(el("thead", {}, el("tr", {}, cols.map(([k, label, num]) => el("th", { class: num ? "num" : "", "aria-sort": state.sort && state.sort[0] === k ? (state.sort[1] > 0 ? "ascending" : "descending") : null },
        el("button", { type: "button", onclick: () => { state.sort = [k, state.sort && state.sort[0] === k ? -state.sort[1] : (num ? -1 : 1)]; draw(); } }, label))))),
      el("tbody", {}, sorted.map((r) => el("tr", { class: isBad(r) ? "bad" : "" }, cols.map(([k, , num]) =>
        el("td", { class: (num ? "num" : "") + (k === "code" || k === "rcode" ? " code" : "") }, num ? (Number.isInteger(r[k]) ? fmt(r[k]) : r[k].toFixed(2)) : r[k]))))));
    };
    draw();
    return table;
  }

  // ---------- Flow logs ----------
  const LOG_COLS = [
    ["start_time", "start", (d) => new Date(d.start_time * 1000).toISOString().replace(".000Z", "Z")],
    ["source_namespace", "src ns", null, "src_ns"], ["source_name_aggr", "src name", null, "src_name"],
    ["dest_namespace", "dst ns", null, "dst_ns"], ["dest_name_aggr", "dst name", null, "dst_name"],
    ["dest_port", "port"], ["proto", "proto"], ["action", "action", null, "action"], ["reporter", "reporter", null, "reporter"],
    ["policies", "policies", (d) => (d.policies && d.policies.all_policies || []).join("\n")],
    ["source_labels", "src labels", (d) => (d.source_labels && d.source_labels.labels || []).join(", "), "src_label"],
    ["dest_labels", "dst labels", (d) => (d.dest_labels && d.dest_labels.labels || []).join(", "), "dst_label"],
    ["num_flows", "flows"], ["bytes", "bytes", (d) => fmtBytes((d.bytes_in || 0) + (d.bytes_out || 0))],
  ];
  function renderLogs(data) {
    const after = state.cursors[state.cursors.length - 1];
    const exportHref = BASE + "api/flowlogs/export?" + filterQuery({ size: 50, after: after }).toString();
    const pager = el("div", { class: "pager" },
      el("button", { type: "button", id: "prev", disabled: state.cursors.length === 0, onclick: () => { state.cursors.pop(); route(); } }, "← newer"),
      el("span", {}, "page " + (state.cursors.length + 1) + " · " + fmt(data.total) + " documents"),
      el("button", { type: "button", id: "next", disabled: !data.next || data.docs.length < 50, onclick: () => { state.cursors.push(data.next); route(); } }, "older →"),
      el("a", { href: exportHref, download: "flowship-flows.ndjson", id: "export" }, "Export this page (NDJSON)"));
    if (data.docs.length === 0) { main.replaceChildren(pager, emptyState("No flow documents in this range.", NO_FLOWS)); return; }
    const body = el("tbody");
    for (const d of data.docs) {
      const detail = el("tr", { class: "detail", hidden: true }, el("td", { colspan: LOG_COLS.length }, el("pre", {}, JSON.stringify(d, null, 2))));
      const row = el("tr", { class: "row", tabindex: 0, "aria-expanded": "false" });
      const toggle = () => { detail.hidden = !detail.hidden; row.setAttribute("aria-expanded", String(!detail.hidden)); };
      row.addEventListener("click", (ev) => { if (!ev.target.closest("button")) toggle(); });
      row.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && ev.target === row) toggle(); });
      for (const [k, , get, fkey] of LOG_COLS) {
        const v = get ? get(d) : d[k];
        const td = el("td", { class: "cell" + (typeof v === "number" ? " num" : "") }, typeof v === "number" ? fmt(v) : (v === null || v === undefined ? "" : v));
        if (fkey && v !== "" && v !== null && v !== undefined) {
          const first = fkey.endsWith("label") ? String(v).split(", ")[0] : String(v);
          td.append(el("button", { type: "button", class: "ffv", title: "filter for " + first, "aria-label": "filter for " + fkey + " " + first,
            onclick: () => addFilter(fkey === "src_name" || fkey === "dst_name" ? "name" : fkey, first) }, "⊕"));
        }
        row.append(td);
      }
      body.append(row, detail);
    }
    main.replaceChildren(pager, el("table", { id: "flowlogs" }, el("thead", {}, el("tr", {}, LOG_COLS.map(([, h]) => el("th", {}, h)))), body),
      el("p", { class: "muted" }, "Click a row (or Enter) to see every field; ⊕ adds a value to the filter."));
  }

  // ---------- routing ----------
  const VIEWS = {
    visualizer: ["flows/graph", renderVisualizer],
    board: ["policies/board", renderBoard],
    services: ["services/graph", renderServices],
    logs: ["flowlogs", renderLogs],
  };
  let seq = 0;
  function route() {
    readHash();
    hideTip();
    if (!VIEWS[state.view]) state.view = "visualizer";
    for (const a of document.querySelectorAll("nav a")) {
      a.classList.toggle("active", a.dataset.view === state.view);
      a.href = "#" + a.dataset.view + (filterQuery().toString() ? "?" + filterQuery().toString() : "");
      if (a.dataset.view === state.view) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
    fillForm();
    const [path, render] = VIEWS[state.view];
    const my = ++seq;
    setStatus("Loading…");
    document.body.dataset.state = "loading";
    const extra = state.view === "logs" ? { size: 50, after: state.cursors[state.cursors.length - 1] }
      : state.view === "board" ? { board_list: state.boardList } : undefined;
    api(path, extra).then((data) => {
      if (my !== seq) return;
      const ign = (data.ignored || []).length ? " Not applicable here: " + data.ignored.join(", ") + "." : "";
      setStatus("Range " + new Date(data.from).toISOString().replace(".000", "") + " – " + new Date(data.to).toISOString().replace(".000", "") + "." + ign);
      const t0 = performance.now();
      render(data);
      main.getBoundingClientRect(); // include style and layout in the measured time
      document.body.dataset.renderMs = (performance.now() - t0).toFixed(1);
      document.body.dataset.state = "ready";
    }).catch((e) => {
      if (my !== seq) return;
      setStatus(e.message, true);
      main.replaceChildren(emptyState("The query failed: " + e.message, ["Fix the filter above, or check that flowship ui reaches Elasticsearch."]));
      document.body.dataset.state = "error";
    });
  }
  window.addEventListener("hashchange", () => { state.selection = null; if (auth.user) route(); });
  fetch(BASE + "auth/whoami", { headers: { Accept: "application/json" } }).then(async (r) => {
    if (r.status === 401) { showSignIn(); return; }
    const who = await r.json();
    if (!r.ok) throw new Error(who.error || ("HTTP " + r.status));
    signedIn(who);
    route();
    loadHints();
  }).catch((e) => setStatus("Cannot ask who you are: " + e.message, true));
})();
