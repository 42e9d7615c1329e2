/**
 * The pure protocol cores, importable on their own (`import { MultiPaxos } from 'paxos-lab/core'`):
 * no I/O, no timers, no processes. A core is driven by inputs (messages, ticks,
 * client requests) and hands back what to persist, then what to send.
 */
export * from './ballot.js';
export * from './basic/durable.js';
export * from './basic/replica.js';
export * from './basic-messages.js';
export * from './config.js';
export * from './describe.js';
export * from './liveness.js';
export * from './multi/durable.js';
export * from './multi/messages.js';
export * from './multi/replica.js';
export * from './multi/sessions.js';
export * from './outbox.js';
export * from './random.js';
export * from './types.js';
export * from './validate.js';
