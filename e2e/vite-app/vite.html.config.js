// The same project with HTML pages as entries: Vite's own HTML plugin writes
// the tags into the built pages, which the e2e test compares with what
// AssetManifest.tags() writes for the same manifest entries. diamond.html's
// modules are split into a chunk each, so that two chunks import a third.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/static/dist/",
  build: {
    manifest: true,
    rolldownOptions: {
      input: { index: "index.html", admin: "admin.html", diamond: "diamond.html" },
      output: {
        codeSplitting: {
          groups: [
            { name: "left", test: /diamond[\\/]left/, priority: 1 },
            { name: "right", test: /diamond[\\/]right/, priority: 1 },
            { name: "base", test: /diamond[\\/]base/, priority: 2 },
          ],
        },
      },
    },
  },
});
