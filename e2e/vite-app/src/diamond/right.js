import "./right.css";
import { base } from "./base.js";

export const right = () => `right ${base()}`;
