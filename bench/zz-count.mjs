import pg from "pg";
const counts = new Map();
const names = new Map();
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, values, cb) {
  const text = typeof config === "string" ? config : config?.text;
  if (text) counts.set(text.replace(/\s+/g, " ").slice(0, 110), (counts.get(text.replace(/\s+/g, " ").slice(0, 110)) ?? 0) + 1);
  if (typeof config === "string" && !config.includes(";") && !/^(BEGIN|COMMIT|ROLLBACK|SET|LISTEN)/.test(config) && !config.includes("pg_notify")) {
    let name = names.get(config);
    if (!name) names.set(config, (name = `w${names.size + 1}`));
    config = { name, text: config };
  }
  return orig.call(this, config, values, cb);
};
process.on("exit", () => {
  const rows = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 25);
  for (const [t, n] of rows) console.log(String(n).padStart(8), t);
});
await import("./postgres.mjs");
