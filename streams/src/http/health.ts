import { Type, type Static } from '@sinclair/typebox';
import type { BusHealth, BusWatch } from '../busWatch.js';

/** The bus as `/health` reports it: `watchBus(nc).health()` of the service's connection. */
export const BusHealthSchema = Type.Object(
  {
    state: Type.Union([
      Type.Literal('connected'),
      Type.Literal('reconnecting'),
      Type.Literal('closed'),
    ]),
    since: Type.String({ description: 'ISO time the state was entered' }),
    reconnects: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false, title: 'BusHealth' },
);
type WireBusHealth = Static<typeof BusHealthSchema>;
// Kept in step with busWatch.ts at compile time, so /health never drops a field it reports.
const inStep: BusHealth extends WireBusHealth
  ? WireBusHealth extends BusHealth
    ? true
    : false
  : false = true;
void inStep;

/** `ok` while the bus is connected; `degraded` otherwise (the service cannot record anything). */
export const HealthStatusSchema = Type.Union([Type.Literal('ok'), Type.Literal('degraded')]);
export type HealthStatus = Static<typeof HealthStatusSchema>;

/**
 * What every `/health` says of the bus: the status word, the HTTP status (503 when degraded, so
 * a check that reads only the status line notices a dead bus) and the bus itself.
 */
export function busHealthOf(bus: Pick<BusWatch, 'health'>): {
  status: HealthStatus;
  httpStatus: 200 | 503;
  bus: BusHealth;
} {
  const health = bus.health();
  const up = health.state === 'connected';
  return { status: up ? 'ok' : 'degraded', httpStatus: up ? 200 : 503, bus: health };
}
