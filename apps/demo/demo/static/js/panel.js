/* The browser half of the demo's "What Firehose did" panel (templates/_firehose_panel.html),
   and the measuring of the /compare page. Hand-written; not hinted by the pages that load it.
   Everything shown is set with textContent: nothing from the page or the URL becomes markup. */
(function () {
  "use strict";
  const COMPARE_KEY = "firehose-compare";
  const LAST_KEY = "firehose-compare-last";
  const SEEN_KEY = "firehose-seen-files";
  const VARIANTS = [
    { label: "With hints", url: "/report" },
    { label: "No-hints twin", url: "/report?hints=off" },
  ];
  const ROUNDS = 3;
  // Each round loads both variants, the hinted one first in even rounds, the twin first in odd
  // ones: neither always comes second (a warmer connection, a warmer server).
  const PLAN = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const index of order) PLAN.push({ variant: index, round: round + 1, ...VARIANTS[index] });
  }

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

  // Largest Contentful Paint so far (the last candidate reported), or null. The observer reports
  // buffered entries asynchronously: lcpSeen waits for its first report (at most 3 s).
  let lcpValue = null;
  const lcpSeen = new Promise((resolve) => {
    try {
      new PerformanceObserver((list) => {
        const entries = list.getEntries();
        if (entries.length) lcpValue = entries[entries.length - 1].startTime;
        resolve();
      }).observe({ type: "largest-contentful-paint", buffered: true });
    } catch (error) {
      resolve(); /* no LCP in this browser: shown as n/a */
    }
    setTimeout(resolve, 3000);
  });

  // When the page's own (final) response headers arrived: finalResponseHeadersStart where the
  // browser has it (there responseStart is the 103's arrival), else responseStart.
  function pageStart(nav) {
    return nav ? nav.finalResponseHeadersStart || nav.responseStart : 0;
  }

  // Whether a 103 reached this navigation: false only when the browser says none did.
  function got103(nav) {
    return !(nav && typeof nav.firstInterimResponseStart === "number" && nav.firstInterimResponseStart === 0);
  }

  function path(name) {
    const url = new URL(name, location.href);
    return url.origin === location.origin ? url.pathname + url.search : url.href;
  }

  // The files earlier pages of the demo loaded in this browser (localStorage), as this script
  // found them: the pages record theirs once loaded, /compare forgets them when it empties the
  // HTTP cache.
  function readSeen() {
    try {
      const list = JSON.parse(localStorage.getItem(SEEN_KEY) || "[]");
      return new Set(Array.isArray(list) ? list : []);
    } catch (error) {
      return new Set();
    }
  }
  const seenBefore = readSeen();

  function recordSeen() {
    const all = readSeen();
    for (const e of performance.getEntriesByType("resource")) all.add(path(e.name));
    try {
      localStorage.setItem(SEEN_KEY, JSON.stringify([...all].slice(-500)));
    } catch (error) {
      /* storage disabled: every labelled file from the network or the HTTP cache counts as fetched */
    }
  }

  function forgetSeen() {
    try {
      localStorage.removeItem(SEEN_KEY);
    } catch (error) {
      /* nothing kept */
    }
  }

  // Whether a labelled entry's file came over the network for this page. Chromium labels
  // "early-hints" a file its 103 preload fetched, and also one the 103 named that the browser
  // already held: all have transferSize 0 and deliveryType "cache". One from the memory cache
  // has no firstInterimResponseStart; one from the HTTP cache looks like a fetched one, so a file
  // an earlier page of the demo loaded in this browser is taken as cached. A browser that counts
  // the bytes gives a transferSize.
  function fetched(e) {
    if (e.transferSize > 0) return true;
    if (!(e.firstInterimResponseStart > 0)) return false;
    return !seenBefore.has(path(e.name));
  }

  // The files of the page's 103, each with how that is known:
  // - "label": Resource Timing says so: deliveryType "early-hints" where a browser gives it, else
  //   initiatorType "early-hints" (Chromium, Firefox). Chromium's entry for such a file is the
  //   page's adoption of the preloaded response: its startTime is when the page asked for the
  //   file, after the page's final response, so it cannot be compared with the page's start.
  //   "cached" when the browser already had it (see fetched()): the 103 named it, nothing came.
  // - "timing" (the fallback for a browser that labels nothing): a request sent before the page's
  //   own response began, which only a 103 can have asked for.
  // A page that got no 103 (firstInterimResponseStart 0) had nothing come early, whatever the
  // labels: Chromium keeps "early-hints" on a file its memory cache hands to a later page.
  function early(nav) {
    if (!got103(nav)) return [];
    const start = pageStart(nav);
    const found = [];
    for (const e of performance.getEntriesByType("resource")) {
      if (e.deliveryType === "early-hints" || e.initiatorType === "early-hints") {
        found.push({ name: e.name, how: fetched(e) ? "label" : "cached" });
      } else if (e.requestStart > 0 && start > 0 && e.requestStart < start) {
        found.push({ name: e.name, how: "timing" });
      }
    }
    return found;
  }

  // How many files were taken from a cache (HTTP or memory): no bytes over the network, and not
  // a file the 103 fetched (whose entry has transferSize 0 too).
  function fromCache() {
    return performance.getEntriesByType("resource").filter((e) => {
      const labelled = e.deliveryType === "early-hints" || e.initiatorType === "early-hints";
      return e.transferSize === 0 && e.decodedBodySize > 0 && !(labelled && fetched(e));
    }).length;
  }

  async function measure() {
    await loaded;
    const nav = performance.getEntriesByType("navigation")[0];
    const paint = await fcp;
    await lcpSeen;
    const named = early(nav);
    const came = named.filter((e) => e.how !== "cached");
    recordSeen();
    return {
      protocol: nav ? nav.nextHopProtocol : "",
      ttfb: nav ? pageStart(nav) : null,
      fcp: paint,
      lcp: lcpValue,
      dcl: nav ? nav.domContentLoadedEventEnd : null,
      load: nav ? nav.loadEventEnd : null,
      got103: got103(nav),
      early: came.map((e) => path(e.name)),
      earlyHow: came.map((e) => e.how),
      namedCached: named.filter((e) => e.how === "cached").map((e) => path(e.name)),
      cached: fromCache(),
    };
  }

  // --- The panel ---------------------------------------------------------------

  async function fillPanel(box) {
    const m = await measure();
    box.replaceChildren();
    box.append(el("p", `Protocol: ${m.protocol || "unknown"}. First Contentful Paint: ${ms(m.fcp)}; ` +
      `Largest Contentful Paint: ${ms(m.lcp)}; first byte of the page: ${ms(m.ttfb)}; load: ${ms(m.load)}.`));
    if (m.early.length) {
      box.append(el("p", `${m.early.length} file(s) came early: taken from the 103, fetched over the network ` +
        "while the page was on its way (Resource Timing):"));
      const list = el("ul");
      list.className = "fh-links";
      list.id = "fh-came-early";
      m.early.forEach((name, index) => {
        const item = el("li");
        item.append(el("code", name), " ", el("span", m.earlyHow[index] === "label"
          ? "initiatorType \"early-hints\"" : "requested before the page's response"));
        list.append(item);
      });
      box.append(list);
    }
    if (m.namedCached.length) {
      const line = el("p", `${m.namedCached.length} file(s) named by the 103 this browser already had cached: ` +
        "nothing was fetched for them (Resource Timing labels them \"early-hints\"; they came from its " +
        "memory cache, or an earlier page of the demo loaded them in this browser).");
      line.id = "fh-named-cached";
      box.append(line);
    }
    if (!m.early.length) {
      box.append(el("p", "No file came early: this browser fetched nothing because of a 103 for this page" +
        (m.got103 ? "." : " (no 103 reached it).") + " " +
        "Browsers use a 103 only over HTTP/2 or HTTP/3 with a trusted certificate, on a top-level navigation, " +
        "and may skip it when the page itself arrives at once (as on a local connection), or when the files " +
        "were already cached."));
    }
    // Mark each link of the server's 103 list with what this browser did with it: fetched because
    // of the 103, or named by it but already cached (with or without the 103's label), or not used.
    const used = new Set(m.early);
    const cached = new Set(m.namedCached.concat(performance.getEntriesByType("resource")
      .filter((e) => e.deliveryType === "cache" || (e.transferSize === 0 && e.decodedBodySize > 0))
      .map((e) => path(e.name))));
    for (const item of document.querySelectorAll("#fh-early li[data-target]")) {
      const mark = item.querySelector(".fh-used");
      if (!mark) continue;
      const target = path(item.dataset.target);
      const yes = used.has(target);
      mark.textContent = yes ? "taken from the 103, fetched over the network"
        : cached.has(target) ? "the 103 named it; this browser already had it cached" : "not used by this browser";
      mark.className = yes ? "fh-used fh-used-yes" : "fh-used";
    }
  }

  // The last finished /compare run of this browser (localStorage), shown in every page's panel.
  function fillMeasured(box) {
    let last = null;
    try {
      last = JSON.parse(localStorage.getItem(LAST_KEY) || "null");
    } catch (error) {
      last = null;
    }
    if (!last || !Array.isArray(last.summary) || last.summary.length !== VARIANTS.length) return;
    const [hinted, twin] = last.summary;
    box.replaceChildren();
    const when = new Date(last.finished).toLocaleString();
    box.append(el("p", `Last /compare run in this browser (${when}), /report with hints vs its no-hints twin, ` +
      `medians of ${last.rounds} round(s): FCP ${ms(hinted.fcp)} vs ${ms(twin.fcp)}, ` +
      `LCP ${ms(hinted.lcp)} vs ${ms(twin.lcp)}; ${hinted.earlyCount} file(s) came early with hints.`));
    const again = el("a", "Run it again");
    again.href = "/compare";
    const line = el("p");
    line.append(again);
    box.append(line);
  }

  function setUpPanel() {
    const box = document.getElementById("fh-browser");
    if (box) fillPanel(box);
    const measured = document.getElementById("fh-measured");
    if (measured) fillMeasured(measured);
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

  // Each load starts from /compare, which is cross-origin isolated (see the compare view), so the
  // load gets a renderer process of its own: a memory cache holding nothing. /compare/reset then
  // empties the origin's HTTP cache (Clear-Site-Data). The measured page is fetched as it is.
  async function go(url) {
    await fetch("/compare/reset", { method: "POST", cache: "no-store" });
    forgetSeen();
    location.replace(url);
  }

  const median = (values) => {
    const known = values.filter((v) => typeof v === "number").sort((a, b) => a - b);
    if (!known.length) return null;
    const mid = Math.floor(known.length / 2);
    return known.length % 2 ? known[mid] : (known[mid - 1] + known[mid]) / 2;
  };

  // Medians of one variant's loads (the files that came early: every one seen in any load).
  function summarize(results, variant) {
    const mine = results.filter((r) => r.variant === variant);
    const pick = (key) => median(mine.map((r) => r[key]));
    return {
      label: VARIANTS[variant].label,
      url: VARIANTS[variant].url,
      loads: mine.length,
      protocol: [...new Set(mine.map((r) => r.protocol || "?"))].join(", "),
      ttfb: pick("ttfb"), fcp: pick("fcp"), lcp: pick("lcp"), dcl: pick("dcl"), load: pick("load"),
      earlyCount: median(mine.map((r) => r.early.length)) ?? 0,
      early: [...new Set(mine.flatMap((r) => r.early))].sort(),
      cached: median(mine.map((r) => r.cached)) ?? 0,
      got103: mine.filter((r) => r.got103).length,
    };
  }

  // On a measured page: record the load, and go back to /compare for the next one.
  async function continueRun(state) {
    const step = PLAN[state.step];
    if (!step || location.pathname + location.search !== step.url) return;
    const result = await measure();
    state.results.push({ label: step.label, url: step.url, variant: step.variant, round: step.round, ...result });
    state.step += 1;
    state.started = Date.now();
    writeState(state);
    location.replace("/compare");
  }

  // On /compare with a run under way: the next load, or the run's end.
  function nextLoad(state) {
    if (state.step < PLAN.length) {
      go(PLAN[state.step].url);
      return true;
    }
    if (!state.summary) {
      state.summary = VARIANTS.map((_, index) => summarize(state.results, index));
      writeState(state);
      try {
        localStorage.setItem(LAST_KEY, JSON.stringify({ finished: Date.now(), rounds: ROUNDS, summary: state.summary }));
      } catch (error) {
        /* storage disabled: only this tab's /compare shows the run */
      }
    }
    return false;
  }

  function showResults(box, state) {
    box.replaceChildren();
    if (!state || !state.summary) {
      box.append(el("p", "No run yet in this tab."));
      return;
    }
    const table = el("table");
    table.className = "fh-compare";
    table.append(el("caption", `Medians of ${ROUNDS} rounds (${PLAN.length} loads, order alternating), ` +
      "each load with empty caches; this browser, this connection"));
    const head = el("tr");
    const titles = ["Load", "Protocol", "Page's first byte", "FCP", "LCP", "DOMContentLoaded", "load",
      "Came early (103)", "Files from cache"];
    for (const title of titles) {
      const th = el("th", title);
      th.scope = "col";
      head.append(th);
    }
    table.appendChild(el("thead")).append(head);
    const body = table.appendChild(el("tbody"));
    for (const r of state.summary) {
      const row = body.appendChild(el("tr"));
      const th = el("th");
      th.scope = "row";
      const link = el("a", r.label);
      link.href = r.url;
      th.append(link);
      row.append(th);
      for (const cell of [r.protocol || "?", ms(r.ttfb), ms(r.fcp), ms(r.lcp), ms(r.dcl), ms(r.load)]) {
        row.append(el("td", cell));
      }
      row.append(el("td", r.earlyCount ? `${r.earlyCount} file(s)` : "none"));
      row.append(el("td", String(r.cached)));
    }
    box.append(table);
    const [hinted, twin] = state.summary;
    if (typeof hinted.fcp === "number" && typeof twin.fcp === "number") {
      const gain = twin.fcp - hinted.fcp;
      box.append(el("p", gain > 0 ? `The hinted page painted ${Math.round(gain)} ms sooner (medians).`
        : `The hinted page did not paint sooner (${Math.round(-gain)} ms later, medians).`));
    }
    if (typeof hinted.lcp === "number" && typeof twin.lcp === "number") {
      const gain = twin.lcp - hinted.lcp;
      box.append(el("p", gain > 0 ? `Its largest paint came ${Math.round(gain)} ms sooner.`
        : `Its largest paint did not come sooner (${Math.round(-gain)} ms later).`));
    }
    if (!hinted.earlyCount) {
      box.append(el("p", "The browser used no 103 in this run: see the caveats below."));
    }
    const details = el("details");
    details.append(el("summary", "Each load"));
    const list = el("ol");
    list.id = "fh-compare-loads";
    for (const r of state.results) {
      list.append(el("li", `Round ${r.round}, ${r.label}: first byte ${ms(r.ttfb)}, FCP ${ms(r.fcp)}, ` +
        `LCP ${ms(r.lcp)}, load ${ms(r.load)}; ${r.early.length} came early, ${r.cached} from cache.`));
    }
    details.append(list);
    box.append(details);
  }

  function setUpCompare() {
    const button = document.getElementById("fh-compare-run");
    const box = document.getElementById("fh-compare-results");
    let state = readState();
    // (A run left half-way, when the tab went elsewhere, is forgotten after a minute without a load.)
    if (state && state.step < PLAN.length && Date.now() - state.started >= 60000) state = null;
    if (button && box) {
      if (state && nextLoad(state)) {
        button.disabled = true;
        box.replaceChildren(el("p", `Measuring: load ${state.step + 1} of ${PLAN.length}...`));
        return;
      }
      showResults(box, state);
      button.addEventListener("click", () => {
        button.disabled = true;
        writeState({ step: 0, results: [], started: Date.now() });
        go(PLAN[0].url);
      });
    } else if (state && state.step < PLAN.length) {
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
