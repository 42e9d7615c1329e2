/** The dashboard's public surface: the pure model, the components, and the terminal entry point. */

export { type FaultRules, isIsolated } from '../transport/faults.js';
export { ChosenList } from './chosen-list.js';
export { Dashboard, type DashboardActions, type DashboardProps } from './dashboard.js';
export { Header } from './header.js';
export { HELD_POLL_MS, HeldFeed, type HeldSnapshot, NO_HELD } from './held-feed.js';
export { HeldList, type HeldListProps, heldWindow } from './held-list.js';
export { HelpOverlay } from './help-overlay.js';
export { KeyTable } from './key-table.js';
export { type Layout, layoutFor } from './layout.js';
export { LogPane } from './log-pane.js';
export { MessageFlow } from './message-flow.js';
export type {
  ChosenEntry,
  DashboardState,
  FlowEntry,
  KeyCell,
  KeyRow,
  Liveness,
  LogLine,
  MissedChosen,
  ReplicaRow,
} from './model.js';
export {
  applyEvent,
  CHOSEN_LIMIT,
  FLOW_LIMIT,
  initialDashboard,
  KEY_LIMIT,
  LOG_LIMIT,
  logLineOf,
  SEED_LIMIT,
  seedChosen,
  selectNode,
} from './model.js';
export { ProposeInput } from './propose-input.js';
export { type DashboardHandle, FrameStore, ScreenGuard, type StartDashboardOptions, startDashboard } from './render.js';
export { ReplicaTable } from './replica-table.js';
export { FaultsLine, faultsText, HintLine, type Outcome, StatusLine } from './status-line.js';
