// Entry "admin": its own CSS and the chunk it shares with "main".
import "./admin.css";
import { mark } from "./shared.js";

mark("admin");
