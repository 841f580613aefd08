// Loaded by main.js with a dynamic import(): never hinted.
import "./lazy.css";

export function lazy() {
  document.documentElement.dataset.lazy = "ran";
}
