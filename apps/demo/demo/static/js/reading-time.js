// Estimates reading time; served from the CDN origin in the demo.
const words = document.querySelector("article")?.textContent.split(/\s+/).length ?? 0;
const slot = document.querySelector(".reading-time");
if (slot) slot.textContent = `${Math.max(1, Math.round(words / 230))} min read`;
