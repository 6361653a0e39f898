import { describe, expect, it } from 'vitest';
import { causeOf } from '../src/commandHandlers.js';

// Who took a model out of service, as the registry records it from a signed command.
describe('causeOf', () => {
  it('given an incident, records the incident whoever signed', () => {
    expect(causeOf('incident-recorder', 'INC-1', 'alice')).toEqual({
      kind: 'incident',
      incidentId: 'INC-1',
    });
  });

  it('given an operator named by the UI, records the person with the service that vouched', () => {
    expect(causeOf('ui', undefined, 'alice')).toEqual({
      kind: 'operator',
      operator: 'alice (via ui)',
    });
  });

  it('given no operator (the console CLI), records the signing service', () => {
    expect(causeOf('cli', undefined)).toEqual({ kind: 'operator', operator: 'cli' });
  });

  it('keeps the record within the schema: a 256-character name is cut, the service kept', () => {
    const cause = causeOf('ui', undefined, 'a'.repeat(256));
    expect(cause).toMatchObject({ kind: 'operator' });
    const operator = (cause as { operator: string }).operator;
    expect(operator).toHaveLength(256);
    expect(operator.endsWith(' (via ui)')).toBe(true);
  });
});
