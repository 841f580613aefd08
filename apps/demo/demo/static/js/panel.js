/* The browser half of the demo's "What Firehose did" panel (templates/_firehose_panel.html),
   and the measuring of the /compare page. Hand-written; not hinted by the pages that load it.
   Everything shown is set with textContent: nothing from the page or the URL becomes markup. */
(function () {
  "use strict";
  const PANEL_KEY = "firehose-panel";
  const COMPARE_KEY = "firehose-compare";
  const PLAN = [
    { label: "With hints", url: "/report" },
    { label: "No-hints twin", url: "/report?hints=off" },
  ];

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  const ms = (value) => (typeof value === "number" ? `${Math.round(value)} ms` : "n/a");

  // First Contentful Paint from Paint Timing, or null when the browser gives none.
  const fcp = new Promise((resolve) => {
    const found = () => performance.getEntriesByName("first-contentful-paint")[0];
    if (found()) return resolve(found().startTime);
    try {
      new PerformanceObserver((list, observer) => {
        const entry = list.getEntries().find((e) => e.name === "first-contentful-paint");
        if (entry) {
          observer.disconnect();
          resolve(entry.startTime);
        }
      }).observe({ type: "paint", buffered: true });
    } catch (error) {
      resolve(null);
    }
    setTimeout(() => resolve(found() ? found().startTime : null), 5000);
  });

  // The page's load, once its load event has finished (loadEventEnd is set after the handlers).
  const loaded = new Promise((resolve) => {
    const done = () => setTimeout(resolve, 0);
    if (document.readyState === "complete") done();
    else window.addEventListener("load", done);
  });

  // When the page's own (final) response headers arrived; responseStart is the 103's arrival in
  // browsers that expose finalResponseHeadersStart.
  function pageStart(nav) {
    return nav ? nav.finalResponseHeadersStart || nav.responseStart : 0;
  }

  // Files fetched because of a 103. Chromium also labels "early-hints" a file later served from its
  // cache for a page that had no 103 at all, so only a fetch that started before the page's response
  // counts as having come early.
  function early(nav) {
    return performance
      .getEntriesByType("resource")
      .filter((e) => e.initiatorType === "early-hints" && e.startTime < pageStart(nav));
  }

  function path(name) {
    const url = new URL(name, location.href);
    return url.origin === location.origin ? url.pathname + url.search : url.href;
  }

  async function measure() {
    await loaded;
    const nav = performance.getEntriesByType("navigation")[0];
    return {
      protocol: nav ? nav.nextHopProtocol : "",
      ttfb: nav ? pageStart(nav) : null,
      fcp: await fcp,
      dcl: nav ? nav.domContentLoadedEventEnd : null,
      load: nav ? nav.loadEventEnd : null,
      early: early(nav).map((e) => path(e.name)),
      cached: performance.getEntriesByType("resource").filter((e) => e.transferSize === 0).length,
    };
  }

  // --- The panel ---------------------------------------------------------------

  async function fillPanel(box) {
    const m = await measure();
    box.replaceChildren();
    box.append(el("p", `Protocol: ${m.protocol || "unknown"}. First Contentful Paint: ${ms(m.fcp)}; ` +
      `first byte of the page: ${ms(m.ttfb)}; load: ${ms(m.load)}.`));
    if (m.early.length) {
      box.append(el("p", `${m.early.length} file(s) came early: the browser fetched them because of the 103 ` +
        "(Resource Timing initiatorType \"early-hints\"):"));
      const list = el("ul");
      list.className = "fh-links";
      for (const name of m.early) {
        const item = el("li");
        item.append(el("code", name));
        list.append(item);
      }
      box.append(list);
    } else {
      box.append(el("p", "No file came early: this browser fetched nothing because of a 103 for this page. " +
        "Browsers use a 103 only over HTTP/2 or HTTP/3 with a trusted certificate, on a top-level navigation, " +
        "and may skip it when the page itself arrives at once (as on a local connection), or when the files " +
        "were already cached."));
    }
  }

  function setUpPanel() {
    const panel = document.getElementById("fh-panel");
    if (!panel) return;
    try {
      panel.open = localStorage.getItem(PANEL_KEY) === "open";
      panel.addEventListener("toggle", () => localStorage.setItem(PANEL_KEY, panel.open ? "open" : "closed"));
    } catch (error) {
      /* storage may be disabled: the panel then starts closed every time */
    }
    const box = document.getElementById("fh-browser");
    if (box) fillPanel(box);
  }

  // --- /compare ----------------------------------------------------------------

  function readState() {
    try {
      const state = JSON.parse(sessionStorage.getItem(COMPARE_KEY) || "null");
      return state && Array.isArray(state.results) && Number.isInteger(state.step) ? state : null;
    } catch (error) {
      return null;
    }
  }

  const writeState = (state) => sessionStorage.setItem(COMPARE_KEY, JSON.stringify(state));

  async function go(url) {
    // An empty HTTP cache for each load, so neither page finds the other's files.
    await fetch("/compare/reset", { method: "POST", cache: "no-store" });
    location.replace(url);
  }

  async function continueRun(state) {
    const step = PLAN[state.step];
    if (!step || location.pathname + location.search !== step.url) return;
    const result = await measure();
    state.results.push({ label: step.label, url: step.url, ...result });
    state.step += 1;
    writeState(state);
    if (state.step < PLAN.length) go(PLAN[state.step].url);
    else location.replace("/compare");
  }

  function showResults(box, state) {
    box.replaceChildren();
    if (!state || state.step < PLAN.length) {
      box.append(el("p", "No run yet in this tab."));
      return;
    }
    const table = el("table");
    table.className = "fh-compare";
    table.append(el("caption", "One run, this browser, this connection"));
    const head = el("tr");
    const titles = ["Load", "Protocol", "Page's first byte", "FCP", "DOMContentLoaded", "load", "Came early (103)",
      "Files from cache"];
    for (const title of titles) {
      const th = el("th", title);
      th.scope = "col";
      head.append(th);
    }
    table.appendChild(el("thead")).append(head);
    const body = table.appendChild(el("tbody"));
    for (const r of state.results) {
      const row = body.appendChild(el("tr"));
      const th = el("th");
      th.scope = "row";
      const link = el("a", r.label);
      link.href = r.url;
      th.append(link);
      row.append(th);
      for (const cell of [r.protocol || "?", ms(r.ttfb), ms(r.fcp), ms(r.dcl), ms(r.load)]) row.append(el("td", cell));
      row.append(el("td", r.early.length ? `${r.early.length} file(s)` : "none"));
      row.append(el("td", String(r.cached)));
    }
    box.append(table);
    const [hinted, twin] = state.results;
    if (typeof hinted.fcp === "number" && typeof twin.fcp === "number") {
      const gain = twin.fcp - hinted.fcp;
      box.append(el("p", gain > 0 ? `The hinted page painted ${Math.round(gain)} ms sooner in this run.`
        : `The hinted page did not paint sooner in this run (${Math.round(-gain)} ms later).`));
    }
    if (!hinted.early.length) {
      box.append(el("p", "The browser used no 103 in this run: see the caveats below."));
    }
  }

  function setUpCompare() {
    const button = document.getElementById("fh-compare-run");
    const box = document.getElementById("fh-compare-results");
    const state = readState();
    if (button && box) {
      showResults(box, state);
      button.addEventListener("click", () => {
        button.disabled = true;
        writeState({ step: 0, results: [], started: Date.now() });
        go(PLAN[0].url);
      });
    } else if (state && state.step < PLAN.length && Date.now() - state.started < 60000) {
      // (A run left half-way, when the tab went elsewhere, is forgotten after a minute.)
      continueRun(state);
    }
  }

  // Loaded after the page's load event (see base.html), so the DOM is ready.
  function start() {
    setUpPanel();
    setUpCompare();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
