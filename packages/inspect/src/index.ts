export {
  serveInspector,
  type InspectorServer,
  type ServeInspectorOptions,
} from './serveInspector.js';
