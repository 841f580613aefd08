// A dependency of the shared chunk (bundled into it, or a chunk of its own).
export function stamp(name) {
  return `${name} ran`;
}
