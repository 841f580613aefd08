import "./left.css";
import { base } from "./base.js";

export const left = () => `left ${base()}`;
