// tests/html/browser_check.js OUT_DIR SHOT_DIR - opens every generated page
// in headless Chromium (puppeteer-core driving /usr/bin/chromium, or
// $CHROMIUM) at 1280 and 390 px wide, and:
//  - fails on any console error, page error, or request that is not the
//    page's own file:// URL or a data: URL (such requests are blocked);
//  - fails when the page overflows sideways (tables must scroll inside
//    their container, not the page);
//  - at 1280 px, fails when a key column of a table (th.k, the columns
//    before the secondary ones) is not in view without scrolling;
//  - at 390 px, fails when a chart's date or scale label is smaller than
//    11 px or two date labels overlap;
//  - takes full-page screenshots into SHOT_DIR;
//  - checks that a page reads with scripts off (same figures present);
//  - clicks a sortable column and checks the rows were reordered;
//  - prints the figures read from the DOM (data-* hooks) as JSON on
//    stdout for the Python driver to compare with the database.
// Written by the dmarcwatch developers.
"use strict";
const fs = require("fs");
const path = require("path");
const puppeteer = require("puppeteer-core");

const [outDir, shotDir] = process.argv.slice(2);
const problems = [];
const exe = process.env.CHROMIUM || "/usr/bin/chromium";

function fileUrl(p) {
  return "file://" + path.resolve(p).split(path.sep).map(encodeURIComponent).join("/");
}

async function open(browser, file, width, js) {
  const page = await browser.newPage();
  const url = fileUrl(path.join(outDir, file));
  const errors = [];
  await page.setJavaScriptEnabled(js);
  await page.setViewport({ width, height: 900 });
  await page.setRequestInterception(true);
  page.on("request", (req) => {
    const u = req.url();
    if (u === url || u.startsWith("data:")) return req.continue();
    errors.push(`request outside the page: ${u}`);
    return req.abort();
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning" && /Content.Security/i.test(m.text()))
      errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    if (r.url() !== url && !r.url().startsWith("data:")) return; // reported above
    errors.push(`request failed: ${r.url()}`);
  });
  const resp = await page.goto(url, { waitUntil: "load" });
  if (!resp || !resp.ok()) errors.push(`could not load ${url}`);
  return { page, errors };
}

// Figures a test can compare with the database, read from stable hooks.
async function figures(page) {
  return page.evaluate(() => {
    const cards = (root) => {
      const o = {};
      root.querySelectorAll(".card[data-k]").forEach((c) => {
        o[c.dataset.k] = {
          value: c.dataset.value === undefined ? null : Number(c.dataset.value),
          num: c.dataset.num === undefined ? null : Number(c.dataset.num),
          den: c.dataset.den === undefined ? null : Number(c.dataset.den),
          shown: c.querySelector(".v").textContent.trim(),
        };
      });
      return o;
    };
    const out = { sections: {}, counts: null, rows: {}, values: {} };
    document.querySelectorAll("section[data-domain]").forEach((s) => {
      out.sections[s.dataset.domain] = cards(s);
    });
    const counts = document.getElementById("counts");
    if (counts) out.counts = cards(counts);
    document.querySelectorAll("#sources tr[data-ip]").forEach((tr) => {
      out.rows[tr.dataset.ip] = Number(tr.cells[2].dataset.v);
    });
    document.querySelectorAll("[id][data-value]").forEach((e) => {
      out.values[e.id] = Number(e.dataset.value);
    });
    // warmup.html: the engine's figures per (IP, provider), as shown.
    out.hints = {};
    document.querySelectorAll("section[data-ip] .key-eng").forEach((k) => {
      const t = (c) => ((k.querySelector("." + c) || {}).textContent || null);
      const num = (c) => { const v = t(c); return v === null ? null : Number(v.replace(/[^0-9]/g, "")); };
      out.hints[k.closest("section").dataset.ip + "|" + k.dataset.provider] = {
        action: t("hint-action"), max_per_day: num("hint-day"),
        max_per_hour: num("hint-hour"), max_connections: num("hint-conn"),
        reason: t("hint-reason"),
        gates: [...k.querySelectorAll("tr[data-day] .gate")].map((g) => g.textContent),
      };
    });
    out.quiet = [...document.querySelectorAll("details.quiet tr[data-key]")].map((tr) => tr.dataset.key);
    out.h1 = (document.querySelector("h1") || {}).textContent || "";
    out.tables = document.querySelectorAll("table").length;
    out.svgs = [...document.querySelectorAll("svg")].map((s) => ({
      label: s.getAttribute("aria-label"),
      title: (s.querySelector("title") || {}).textContent || "",
      hasNumbers: !!(s.closest("figure") && s.closest("figure").nextElementSibling &&
        s.closest("figure").nextElementSibling.querySelector("table")),
    }));
    out.overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    // Key columns out of view: past the window, or past the right edge
    // of the table's scrolling container (so a sideways scroll is needed).
    out.hiddenKeys = [];
    document.querySelectorAll("th.k").forEach((th) => {
      const r = th.getBoundingClientRect();
      const box = th.closest(".tw").getBoundingClientRect();
      const edge = Math.min(window.innerWidth, box.right);
      if (r.right > edge + 1 || r.width === 0)
        out.hiddenKeys.push(`${(th.closest("table").id || "table")}: "${th.textContent}" ends at ${Math.round(r.right)} px > ${Math.round(edge)}`);
    });
    // Chart labels: size and overlap, as drawn.
    out.smallLabels = [];
    document.querySelectorAll(".xa, .ya").forEach((box) => {
      const spans = box.classList.contains("xa") ? [...box.querySelectorAll("span")] : [box];
      const shown = spans.filter((e) => getComputedStyle(e).display !== "none");
      shown.forEach((e) => {
        const px = parseFloat(getComputedStyle(e).fontSize);
        if (px < 11) out.smallLabels.push(`"${e.textContent}" at ${px} px`);
      });
      for (let i = 1; i < shown.length; i++) {
        const a = shown[i - 1].getBoundingClientRect(), b = shown[i].getBoundingClientRect();
        if (a.right > b.left + 1) out.smallLabels.push(`"${shown[i - 1].textContent}" overlaps "${shown[i].textContent}"`);
      }
    });
    out.keyCols = document.querySelectorAll("th.k").length;
    out.tabindex = [...document.querySelectorAll("th.s")].filter((t) => t.tabIndex === 0).length;
    out.sortable = document.querySelectorAll("th.s").length;
    return out;
  });
}

(async () => {
  let browser;
  try {
    browser = await puppeteer.launch({
      executablePath: exe,
      headless: "new",
      args: ["--no-sandbox", "--disable-gpu", "--allow-file-access-from-files=false"],
    });
  } catch (e) {
    console.error(`cannot start ${exe}: ${e.message}`);
    process.exit(77);
  }
  const files = fs.readdirSync(outDir).filter((f) => f.endsWith(".html"));
  const fixed = ["index.html", "sources.html", "warmup.html", "tls.html",
    "failures.html", "rejected.html", "reports.html"];
  // Every fixed page, and a few report pages (the first, the largest).
  const reports = files.filter((f) => /^report-\d+\.html$/.test(f))
    .sort((a, b) => fs.statSync(path.join(outDir, b)).size - fs.statSync(path.join(outDir, a)).size);
  const pages = fixed.concat(reports.slice(0, 3));
  const result = {};
  for (const f of pages) {
    if (!files.includes(f)) { problems.push(`${f}: not generated`); continue; }
    for (const width of [1280, 390]) {
      const { page, errors } = await open(browser, f, width, true);
      const fig = await figures(page);
      if (fig.overflow > 0) errors.push(`page is ${fig.overflow}px wider than the ${width}px window`);
      if (width === 1280)
        for (const h of fig.hiddenKeys) errors.push(`key column out of view: ${h}`);
      if (width === 390)
        for (const l of fig.smallLabels) errors.push(`chart label: ${l}`);
      if (fig.tabindex !== fig.sortable)
        errors.push(`${fig.sortable - fig.tabindex} sortable headers not focusable with the script on`);
      for (const s of fig.svgs)
        if (!s.label || !s.title || !s.hasNumbers)
          errors.push(`chart without text alternative: ${JSON.stringify(s)}`);
      const base = path.join(shotDir, `${f.replace(".html", "")}-${width}`);
      await page.screenshot({ path: `${base}.png`, fullPage: true });
      await page.screenshot({ path: `${base}-top.png` });
      if (width === 1280) result[f] = fig;
      // Sorting: click the first numeric header of the first real table.
      if (width === 1280 && f === "sources.html") {
        const order = await page.evaluate(() => {
          const t = document.getElementById("sources");
          if (!t || t.tBodies[0].rows.length < 2) return null;
          const ths = t.tHead.rows[0].cells;
          const before = [...t.tBodies[0].rows].map((r) => r.dataset.ip).join(",");
          // Messages: the first click sorts descending (the server's
          // order already), the second ascending.
          ths[2].click();
          ths[2].click();
          const after = [...t.tBodies[0].rows].map((r) => r.dataset.ip).join(",");
          const vals = [...t.tBodies[0].rows].map((r) => Number(r.cells[2].dataset.v));
          return { before, after, vals, sort: ths[2].getAttribute("aria-sort") };
        });
        if (order) {
          const sorted = order.vals.every((v, i, a) => i === 0 || a[i - 1] <= v);
          if (!sorted || order.sort !== "ascending")
            errors.push(`sorting did not order the Messages column: ${order.vals}`);
          if (order.before === order.after && new Set(order.vals).size > 1)
            errors.push("clicking a column title did not reorder the rows");
        }
      }
      for (const e of errors) problems.push(`${f} @${width}px: ${e}`);
      await page.close();
    }
    // Scripts off: the page still carries its figures.
    const { page, errors } = await open(browser, f, 1280, false);
    const off = await figures(page);
    if (JSON.stringify(off.sections) !== JSON.stringify(result[f].sections) ||
        off.tables !== result[f].tables)
      errors.push("page reads differently with scripts off");
    if (off.tabindex !== 0)
      errors.push(`${off.tabindex} headers focusable although nothing sorts without the script`);
    for (const e of errors) problems.push(`${f} (no script): ${e}`);
    await page.close();
  }
  await browser.close();
  process.stdout.write(JSON.stringify({ pages: result, problems }, null, 1));
  process.exit(problems.length ? 1 : 0);
})().catch((e) => {
  console.error(e && e.stack || String(e));
  process.exit(1);
});
