// Fills the dashboard with a few widgets; stands in for a heavier bundle.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("account-widgets");
  if (!root) return;
  for (const name of ["Reading list", "Saved photos", "Newsletters", "Devices"]) {
    const box = document.createElement("div");
    box.textContent = name;
    root.appendChild(box);
  }
});
