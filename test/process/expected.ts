/**
 * What the fixture workflows (test/fixtures/workflows.mjs) return, computed independently.
 */
export function chainOutput(seed: number): number {
  let value = seed;
  for (let index = 0; index < 5; index++) value = value * 3 + index + 1;
  return value;
}

export function fanOutOutput(base: number): { squares: number[]; sum: number } {
  const squares = Array.from({ length: 10 }, (_, i) => (base * 10 + i) ** 2);
  return { squares, sum: squares.reduce((a, b) => a + b, 0) };
}

export interface ActivityRun {
  instanceId: string;
  taskId: number;
  activity: string;
  attempt: number;
}

/** The FIXTURE_LOG lines written so far. */
export function parseActivityLog(text: string): ActivityRun[] {
  return text.split("\n").filter(Boolean).map((line) => {
    const [instanceId, taskId, activity, attempt] = line.split(" ");
    return { instanceId: instanceId!, taskId: Number(taskId), activity: activity!, attempt: Number(attempt) };
  });
}
