// The OMA conformance suite: the runner, its cases and the scripted model.
/** The version of the suite's JSON report format. */
export const REPORT_VERSION = "1";
