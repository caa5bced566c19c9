// What the torture fixtures (test/fixtures/torture-workflows.mjs) must return, computed
// independently of them: the tests compare every workflow's output with these.

const MOD = 1_000_003;

const mix = (acc, k) => (acc * 31 + k * 7 + 1) % MOD;
const flaky = (acc, k) => (acc * 17 + k) % MOD;

/** The payload the tests raise as event `go-<round>` for a torture instance. */
export function eventPayload(seed, round) {
  return { value: (seed * 131 + round * 37 + 11) % 9973, round };
}

/** tortureChild({acc, depth}). */
export function childOutput(acc, depth) {
  let value = mix(acc, 100 + depth);
  if (depth > 1) value = (value + childOutput(value, depth - 1)) % MOD;
  return value;
}

/** One round of torture (and all of tortureOnce) from `acc`. */
function roundOutput(seed, round, acc) {
  const first = mix(acc, 1);
  let next = [0, 1, 2].map((i) => mix(first, 10 + i)).reduce((a, b) => a + b, 0) % MOD;
  next = flaky(next, 3);
  next = (next + childOutput(next, (seed % 2) + 1)) % MOD;
  return (next * 7 + eventPayload(seed, round).value) % MOD;
}

/** torture({seed, round: 0, rounds, acc: seed}) once every round's event was raised. */
export function tortureOutput(seed, rounds) {
  let acc = seed;
  for (let round = 0; round < rounds; round++) acc = roundOutput(seed, round, acc);
  return { seed, rounds, acc };
}

/** tortureOnce({seed}) once `go-0` was raised. */
export function tortureOnceOutput(seed) {
  return { seed, acc: roundOutput(seed, 0, seed) };
}

/** The torture input for a fresh instance. */
export function tortureInput(seed, rounds) {
  return { seed, round: 0, rounds, acc: seed };
}

/** slowChain({acc, steps}). */
export function slowChainOutput(acc, steps) {
  let value = acc;
  for (let k = 0; k < steps; k++) value = mix(value, k);
  return value;
}
