export {
  createDashboard,
  fromLoopback,
  type Dashboard,
  type DashboardOptions,
} from './createDashboard.js';
export { PAGE_DIR } from './servePage.js';
export * from './protocol.js';
