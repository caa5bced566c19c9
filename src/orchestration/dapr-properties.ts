/**
 * The `properties` map daprd's workflow APIs (HTTP GET and the Dapr gRPC GetWorkflow) give an
 * instance: input, output, custom status and failure details under `dapr.workflow.*` keys,
 * sorted, empty values left out, and no output for a FAILED instance (daprd master). Both
 * transports use this one mapping, so they read back the same values.
 */
import type { InstanceRecord } from "../store/store.js";

export function daprProperties(instance: InstanceRecord): Record<string, string> {
  const failure = instance.failureDetails;
  const candidates: [string, string | undefined][] = [
    ["dapr.workflow.custom_status", instance.customStatus],
    ["dapr.workflow.failure.error_message", failure?.errorMessage],
    ["dapr.workflow.failure.error_type", failure?.errorType],
    ["dapr.workflow.failure.stack_trace", failure?.stackTrace],
    ["dapr.workflow.input", instance.input],
    ["dapr.workflow.output", instance.status === "FAILED" ? undefined : instance.output],
  ];
  const properties: Record<string, string> = {};
  for (const [key, value] of candidates) {
    if (value) properties[key] = value;
  }
  return properties;
}
