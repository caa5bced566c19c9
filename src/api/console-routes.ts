/**
 * The web console's static files at /ui/ (built from console/ to dist/console/ by `npm run
 * build`). The shell is static and holds no data, so it is served without the API token; the
 * console itself calls the public API like any client, with the token the user gives it.
 * Every path under /ui/ that is not a file (a run's page, /ui/instances/<id>) gets the shell,
 * which routes in the browser.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import { apiErrors } from "./errors.js";

/** dist/console/: beside dist/src when running the build, under dist/ when tests run the sources. */
export const consoleDir = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../console/" : "../../dist/console/", import.meta.url));

export const consolePrefix = "/ui/";

export async function registerConsole(app: FastifyInstance, dir: string = consoleDir): Promise<void> {
  if (!existsSync(`${dir}index.html`)) {
    // Not built (a checkout without `npm run build`): say so rather than a bare 404.
    const notBuilt = async () => {
      throw apiErrors.consoleNotBuilt(dir);
    };
    app.get("/ui", { schema: { hide: true } }, notBuilt);
    app.get("/ui/*", { schema: { hide: true } }, notBuilt);
    return;
  }
  // The server ignores trailing slashes, so /ui is the shell too (index below).
  await app.register(fastifyStatic, {
    root: dir,
    prefix: consolePrefix,
    // Files are listed once at start-up (the build output does not change while serving), so
    // the catch-all below can answer every other path with the shell.
    wildcard: false,
    index: "index.html",
    schemaHide: true,
    // Asset names carry a content hash: cache them for good. The shell is always revalidated.
    cacheControl: false,
    setHeaders: (response, path) => {
      response.setHeader("cache-control", path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable");
    },
  });
  app.get("/ui/*", { schema: { hide: true } }, async (request, reply: FastifyReply) => {
    // A missing asset is a 404, not the shell (which would be parsed as a script).
    if (request.url.startsWith(`${consolePrefix}assets/`)) throw apiErrors.routeNotFound(request.method, request.url);
    return reply.header("cache-control", "no-cache").sendFile("index.html");
  });
}
