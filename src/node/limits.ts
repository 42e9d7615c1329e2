import { DEFAULTS } from '../core/config.js';
import { MAX_VALUE_BYTES } from '../core/validate.js';

/**
 * The largest frame a replica accepts. ws allows 100 MiB by default, far more
 * than any honest peer sends; ours fits one full accept batch of the largest
 * values plus JSON overhead, and nothing much bigger.
 */
export const MAX_FRAME_BYTES = DEFAULTS.maxBatchEntries * (MAX_VALUE_BYTES + 1024) * 2;

/** The longest a client may ask a replica to keep trying: ten minutes. The CLI checks --timeout against it before it connects. */
export const MAX_CLIENT_TIMEOUT_MS = 600_000;
