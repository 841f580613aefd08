// Reports, in the footer, how each file of the page was fetched: the browser
// marks files it fetched because of a 103 Early Hint with "early-hints".
window.addEventListener("load", () => {
  const hinted = performance.getEntriesByType("resource").filter((e) => e.initiatorType === "early-hints");
  const report = document.getElementById("hint-report");
  if (report) report.textContent = hinted.length ? `${hinted.length} files came from early hints.` : "";
});
