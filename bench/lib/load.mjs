// Runs autocannon in its own process (so the load generator does not share the server's
// event loop) and prints its result as one JSON line on stdout.
//   node bench/lib/load.mjs '<json options for autocannon>'
import autocannon from "autocannon";

const options = JSON.parse(process.argv[2]);
const result = await autocannon({ ...options, renderProgressBar: false, renderResultsTable: false });
process.stdout.write(`${JSON.stringify({
  requests: result.requests,
  latency: result.latency,
  throughput: result.throughput,
  duration: result.duration,
  "2xx": result["2xx"],
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  resets: result.resets,
  statusCodeStats: result.statusCodeStats,
})}\n`);
