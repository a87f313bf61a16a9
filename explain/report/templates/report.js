"use strict";
// explain report: progressive enhancement only. The page reads the same without this script;
// it adds row search, sortable tables, expand/collapse all and the jump menu's active state.
// No network, no eval, no inline handlers: the page's CSP pins this exact text by its SHA-256.
(function () {
  var doc = document;

  function rowsOf(root) { return Array.prototype.slice.call(root.querySelectorAll("[data-row-id]")); }

  function tokens(query) {
    return query.split(/[\s,;]+/).filter(function (t) { return t.length > 0; });
  }

  function matches(el, toks) {
    if (toks.length === 0) { return true; }
    var id = el.getAttribute("data-row-id");
    var label = (el.getAttribute("data-row-label") || "").toLowerCase();
    var num = Number(id);
    return toks.some(function (t) {
      var range = /^(-?\d+)\s*(?:-|:|\.\.)\s*(-?\d+)$/.exec(t);
      if (range && id !== "" && !isNaN(num)) {
        return num >= Number(range[1]) && num <= Number(range[2]);
      }
      var low = t.toLowerCase();
      return id.toLowerCase() === low || (label !== "" && label.indexOf(low) !== -1);
    });
  }

  function filterRows() {
    var input = doc.getElementById("row-search");
    var toks = tokens(input.value);
    var all = rowsOf(doc);
    var ids = {};
    var shown = {};
    all.forEach(function (el) {
      var ok = matches(el, toks);
      el.hidden = !ok;
      ids[el.getAttribute("data-row-id")] = true;
      if (ok) { shown[el.getAttribute("data-row-id")] = true; }
    });
    var out = doc.getElementById("row-count");
    if (out) {
      out.textContent = Object.keys(shown).length + " of " + Object.keys(ids).length + " rows shown";
    }
  }

  function cellKey(cell) {
    var text = (cell.getAttribute("data-sort") || cell.textContent).trim();
    var n = Number(text.replace(/^\+/, "").replace(/\u2212/g, "-"));
    return { text: text, num: text === "" || isNaN(n) ? null : n };
  }

  function sortTable(table, col, th) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var descending = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, i) { return { row: r, i: i, key: cellKey(r.cells[col] || r) }; });
    var numeric = keyed.every(function (k) { return k.key.num !== null || k.key.text === "" || k.key.text === "\u2013"; });
    keyed.sort(function (a, b) {
      var c;
      if (numeric) {
        var x = a.key.num === null ? Infinity : a.key.num;
        var y = b.key.num === null ? Infinity : b.key.num;
        c = x < y ? -1 : (x > y ? 1 : 0);
      } else {
        c = a.key.text.localeCompare(b.key.text, undefined, { numeric: true });
      }
      if (descending) { c = -c; }
      return c !== 0 ? c : a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tHead.rows.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.title = "Click to sort; click again to reverse";
      th.classList.add("sort-header");
      th.addEventListener("click", function () { sortTable(table, col, th); });
      th.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sortTable(table, col, th); }
      });
    });
  }

  function setAll(open) {
    Array.prototype.forEach.call(doc.querySelectorAll("details"), function (d) { d.open = open; });
  }

  function init() {
    var controls = doc.getElementById("controls");
    if (controls) { controls.hidden = false; }
    var input = doc.getElementById("row-search");
    if (input && rowsOf(doc).length === 0) {  // a page without per-row views: no search box
      input.parentNode.hidden = true;
      var count = doc.getElementById("row-count");
      if (count) { count.hidden = true; }
      input = null;
    }
    if (input) {
      input.addEventListener("input", filterRows);
      input.addEventListener("keydown", function (ev) {
        if (ev.key !== "Enter") { return; }
        var first = doc.querySelector(".row-view[data-row-id]:not([hidden])");
        if (first) { first.open = true; first.scrollIntoView(); }
      });
      filterRows();
    }
    Array.prototype.forEach.call(doc.querySelectorAll("table.sortable"), makeSortable);
    var expand = doc.getElementById("expand-all");
    var collapse = doc.getElementById("collapse-all");
    if (expand) { expand.addEventListener("click", function () { setAll(true); }); }
    if (collapse) { collapse.addEventListener("click", function () { setAll(false); }); }
    var jump = doc.getElementById("jump-select");
    if (jump) {
      jump.addEventListener("change", function () {
        var target = doc.getElementById(jump.value);
        if (target) {
          if (target.tagName === "DETAILS") { target.open = true; }
          target.scrollIntoView();
        }
      });
    }
    function openTarget() {
      var id = decodeURIComponent(window.location.hash.slice(1));
      var target = id ? doc.getElementById(id) : null;
      if (target && target.tagName === "DETAILS") { target.open = true; target.scrollIntoView(); }
    }
    window.addEventListener("hashchange", openTarget);
    openTarget();
    // printing shows every collapsed section; the state comes back afterwards
    var closed = [];
    window.addEventListener("beforeprint", function () {
      closed = Array.prototype.filter.call(doc.querySelectorAll("details"), function (d) { return !d.open; });
      closed.forEach(function (d) { d.open = true; });
    });
    window.addEventListener("afterprint", function () {
      closed.forEach(function (d) { d.open = false; });
      closed = [];
    });
  }

  if (doc.readyState === "loading") { doc.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
