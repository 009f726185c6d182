// The OMA TypeScript SDK. Generated messages and services are under "@oma/client/gen/…";
// this root exports the small hand-written layer.
export { omaErrorInfo, reasonOf, type OmaErrorInfo } from "./errors.js";
