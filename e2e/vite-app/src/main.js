// Entry "main": its own CSS, the shared chunk, and a chunk loaded on demand.
import "./main.css";
import { mark } from "./shared.js";

mark("main");
import("./lazy.js").then(({ lazy }) => lazy());
