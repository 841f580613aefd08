/* Flask-Firehose: report this page's LCP image once (see _lcp/tokens.py) */
(() => {
  'use strict';
  const doc = document, me = doc.currentScript, t = me?.dataset.firehoseLcp, src = me?.src, w = innerWidth;
  const PO = window.PerformanceObserver, nav = performance.getEntriesByType('navigation')[0];
  const LCP = 'largest-contentful-paint';
  // Not for prerendered or background loads.
  if (!t || !src.endsWith('.js') || !PO?.supportedEntryTypes?.includes(LCP) ||
      doc.prerendering || doc.visibilityState == 'hidden' || nav?.activationStart > 0) return;
  let last, seen, done;
  try {
    // Unpadded base64 is fine for atob; the class: how many breakpoints w is past.
    const k = JSON.parse(atob(t.split('.')[0].replace(/-/g, '+').replace(/_/g, '/')));
    if (k.d.includes(k.b.filter((b) => w > b).length)) return;
  } catch {
    return;
  }
  const take = (list) => {
    last = list[list.length - 1] || last;
    const r = last?.element?.getBoundingClientRect(); // gone: it was painted in view
    seen = !r || (r.top + scrollY < innerHeight && r.bottom + scrollY > 0);
  };
  const po = new PO((l) => take(l.getEntries()));
  // Entries stop at the first input or scroll: the last is the LCP.
  const send = (e) => {
    if (done || !e.isTrusted || (e.type == 'scroll' && e.target != doc) ||
        (e.type == 'visibilitychange' && doc.visibilityState != 'hidden')) return;
    done = 1;
    take(po.takeRecords());
    po.disconnect();
    // Text before load may be an image yet to paint: no vote.
    if (!last || (!last.url && doc.readyState != 'complete')) return;
    const u = last.url, url = src.slice(0, -3);
    const body = new Blob([JSON.stringify({t, w, u: u.length > 4096 || !/^https?:/.test(u) ? '' : u, v: seen})],
      {type: 'application/json'});
    if (!navigator.sendBeacon?.(url, body)) {
      fetch(url, {method: 'POST', body, keepalive: true, credentials: 'same-origin'}).catch(() => {});
    }
  };
  po.observe({type: LCP, buffered: true});
  for (const n of ['keydown', 'pointerdown', 'click', 'scroll', 'visibilitychange', 'pagehide']) {
    addEventListener(n, send, true);
  }
})();
