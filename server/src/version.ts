/** The reference server's version, reported by GetServerInfo. */
export const VERSION = "0.1.0";
