/**
 * Builds the console (`vite build console`) to static files under dist/console/, which
 * workflowd serves at /ui/.
 * Preact through its Vite preset (JSX to Preact's runtime); no CDN at run time.
 */
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/ui/",
  plugins: [preact()],
  build: {
    outDir: "../dist/console",
    emptyOutDir: true,
    // One small bundle; no source maps shipped in the package.
    sourcemap: false,
  },
});
