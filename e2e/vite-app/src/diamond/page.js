// A diamond: two chunks that both import a third, each with its own CSS
// (vite.html.config.js splits them into chunks of their own).
import "./page.css";
import { left } from "./left.js";
import { right } from "./right.js";

document.documentElement.dataset.diamond = `${left()} ${right()}`;
