/** The suite's version, reported in every JSON report. */
export const SUITE_VERSION = "0.1.0";
