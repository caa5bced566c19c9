/** The workflowd version reported by /v1.0/metadata; kept equal to package.json's by a test. */
export const version = "0.1.0";
