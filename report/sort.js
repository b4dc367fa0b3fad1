(function () {
  "use strict";
  function key(td) {
    var v = td ? td.getAttribute("data-v") : null;
    if (v !== null && v !== "") return parseFloat(v);
    return td ? td.textContent.trim().toLowerCase() : "";
  }
  function sort(th) {
    var row = th.parentNode, table = th.closest("table");
    var body = table.tBodies[0];
    var i = Array.prototype.indexOf.call(row.children, th);
    var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
    Array.prototype.forEach.call(row.children, function (h) {
      h.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[i]), y = key(b.cells[i]);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function hit(e) {
    var th = e.target.closest ? e.target.closest("th.s") : null;
    if (th && (e.type === "click" || e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      sort(th);
    }
  }
  document.documentElement.className += " js";
  // Only with the script do headers sort, so only then are they focusable.
  Array.prototype.forEach.call(document.querySelectorAll("th.s"),
    function (th) { th.tabIndex = 0; });
  document.addEventListener("click", hit);
  document.addEventListener("keydown", hit);
})();
