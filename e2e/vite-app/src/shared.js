// Shared by both entries, so Vite makes it a chunk of its own; it imports CSS too.
import "./shared.css";
import { stamp } from "./stamp.js";

export function mark(name) {
  document.documentElement.dataset[name] = stamp(name);
}
