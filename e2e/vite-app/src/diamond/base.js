import "./base.css";

export const base = () => "base";
