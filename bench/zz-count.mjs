import pg from "pg";
const counts = new Map();
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, cb) {
  const text = typeof config === "string" ? config : config?.text;
  if (text) { const k = text.replace(/\s+/g, " ").slice(0, 100); counts.set(k, (counts.get(k) ?? 0) + 1); }
  return orig.call(this, config, values, cb);
};
process.on("exit", () => {
  for (const [t, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(String(n).padStart(8), t);
});
await import("./zz-pgprof.mjs");
