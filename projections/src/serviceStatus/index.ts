export {
  SERVICE_STATUS,
  serviceStatusProjection,
  type ServiceRunState,
  type ServiceStatusDocument,
  type ServiceStatusEntry,
} from './projection.js';
