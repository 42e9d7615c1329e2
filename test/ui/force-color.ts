/**
 * Imported first by tests that check colour: chalk decides its colour level
 * when it is loaded, and under the test runner stdout is a pipe, so without
 * this every frame would be colourless and the NO_COLOR test could not fail.
 */
process.env.FORCE_COLOR = '1';

export {};
