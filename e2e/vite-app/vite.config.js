// The e2e test's Vite project: two entries sharing a chunk, CSS imported by an
// entry and by the shared chunk, a CSS entry, and a dynamic import. The test
// builds it with `vite build --outDir <temp dir>`; the Flask app serves the
// output at /static/dist/, so that is the base.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/static/dist/",
  build: {
    manifest: true,
    rolldownOptions: {
      input: {
        main: "src/main.js",
        admin: "src/admin.js",
        theme: "src/theme.css",
      },
    },
  },
});
