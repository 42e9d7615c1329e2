/** The dashboard's public surface: the pure model, the components, and the terminal entry point. */
export { applyEvent, initialDashboard, seedChosen, selectNode, describeCoreEvent, CHOSEN_LIMIT, FLOW_LIMIT, KEY_LIMIT, LOG_LIMIT, SEED_LIMIT } from './model.js';
export { isIsolated, type FaultRules } from '../transport/faults.js';
export type { ChosenEntry, DashboardState, MissedChosen, FlowEntry, KeyCell, KeyRow, Liveness, LogLine, ReplicaRow } from './model.js';
export { Dashboard, type DashboardActions, type DashboardProps } from './dashboard.js';
export { Header } from './header.js';
export { ReplicaTable } from './replica-table.js';
export { ChosenList } from './chosen-list.js';
export { MessageFlow } from './message-flow.js';
export { HeldList, heldWindow, type HeldListProps } from './held-list.js';
export { HeldFeed, HELD_POLL_MS, NO_HELD, type HeldSnapshot } from './held-feed.js';
export { LogPane } from './log-pane.js';
export { KeyTable } from './key-table.js';
export { HelpOverlay } from './help-overlay.js';
export { ProposeInput } from './propose-input.js';
export { FaultsLine, HintLine, StatusLine, faultsText, type Outcome } from './status-line.js';
export { layoutFor, type Layout } from './layout.js';
export { startDashboard, FrameStore, ScreenGuard, type DashboardHandle, type StartDashboardOptions } from './render.js';
