/** The fd on which the parse process (parse-process.ts) hands main.ts the Config, as JSON. */
export const CONFIG_FD = 3;
