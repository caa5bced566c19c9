/**
 * The texts daprd's workflow APIs answer with, where the HTTP API and Dapr's gRPC runtime
 * service say the same thing (each transport adds its own status code).
 */
import { instanceIdBytesMax } from "../engine/instance-id.js";

export const messages = {
  backlogFull: (queued: number, limit: number) =>
    `workflowd has ${queued} workflow instances waiting to run, at or over its limit of ${limit} (--max-backlog, WORKFLOWD_MAX_BACKLOG); retry shortly`,
  instanceIdTooLong: () => `workflow instance ID exceeds the max length of ${instanceIdBytesMax} characters`,
  instanceIdInvalid: (id: string) => `workflow instance ID '${id}' is invalid: only letters, digits, '_' and '-' are allowed`,
  instanceExists: (name: string, id: string) =>
    `error starting workflow '${name}': workflow instance ID '${id}' already exists; purge it before reusing the ID`,
  purgeNotTerminal: (id: string, blockingId: string, status: string) =>
    blockingId === id
      ? `error purging workflow ${id}: workflow is ${status}; only COMPLETED, FAILED or TERMINATED workflows can be purged`
      : `error purging workflow ${id}: child workflow ${blockingId} is ${status}; only COMPLETED, FAILED or TERMINATED workflows can be purged`,
};
