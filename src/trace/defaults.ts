/** The trace diagrams' defaults, apart from their writers, so the command line's flags can show them without loading a writer. */

/** Enough for a few hundred messages: each message takes two rows, its send and its delivery. */
export const DEFAULT_MAX_EVENTS = 400;
