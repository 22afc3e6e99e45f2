import { describe, expect, it } from 'vitest';
import { matchStoreRoute, matchTokenPath } from '../../../tools/store-simulator/routes.ts';

const app = '/v1.0/my/applications/9NBLGGH4R315';
const flightId = '43e448df-97c9-4a43-a0bc-2a445e736bcd';

describe('Store simulator: route table', () => {
  it.each([
    ['GET', '/v1.0/my/applications', { op: 'list-apps' }],
    ['GET', app, { op: 'get-app', applicationId: '9NBLGGH4R315' }],
    ['POST', `${app}/submissions`, { op: 'create-submission', applicationId: '9NBLGGH4R315' }],
    ['GET', `${app}/listflights/`, { op: 'list-flights', applicationId: '9NBLGGH4R315' }],
    ['GET', `${app}/flights/${flightId}`, { op: 'get-flight', applicationId: '9NBLGGH4R315', flightId }],
    [
      'GET',
      `${app}/submissions/7/status`,
      { op: 'get-status', at: { applicationId: '9NBLGGH4R315', submissionId: '7' } },
    ],
    [
      'POST',
      `${app}/flights/${flightId}/submissions/7/haltpackagerollout`,
      {
        op: 'rollout-action',
        action: 'halt',
        at: { applicationId: '9NBLGGH4R315', flightId, submissionId: '7' },
      },
    ],
    [
      'POST',
      `${app}/submissions/7/updatepackagerolloutpercentage`,
      { op: 'rollout-action', action: 'update', at: { applicationId: '9NBLGGH4R315', submissionId: '7' } },
    ],
  ])('matches %s %s', (method, path, route) => {
    expect(matchStoreRoute(method, path)).toEqual(route);
  });

  it.each([
    ['GET', '/v1.0/my/'],
    ['GET', '/v1.0/my/apps'],
    ['POST', app],
    ['GET', `${app}/submissions`],
    ['DELETE', `${app}/submissions/7`],
    ['PUT', `${app}/submissions/7/haltpackagerollout`],
    ['GET', `${app}/submissions/7/packagerollout/extra`],
    ['GET', `${app}//submissions/7`],
    ['GET', `${app}/submissions/%E0%A4%A`],
    ['GET', `${app}/flights/${flightId}/submissions/7/status/extra`],
    ['GET', '/v2.0/my/applications'],
  ])('matches nothing for %s %s', (method, path) => {
    expect(matchStoreRoute(method, path)).toBeUndefined();
  });

  it('decodes an encoded slash into one segment, so it cannot reach another route', () => {
    expect(matchStoreRoute('GET', '/v1.0/my/applications/9NBLGGH4R315%2Fsubmissions')).toEqual({
      op: 'get-app',
      applicationId: '9NBLGGH4R315/submissions',
    });
  });

  it('recognises the Azure AD v1 and v2 token paths and their tenant', () => {
    expect(matchTokenPath('/00000000-0000-4000-8000-000000000001/oauth2/token')).toEqual({
      tenantSegment: '00000000-0000-4000-8000-000000000001',
      version: 1,
    });
    expect(matchTokenPath('/tenant/oauth2/v2.0/token')).toEqual({ tenantSegment: 'tenant', version: 2 });
    expect(matchTokenPath('/tenant/oauth2/v3.0/token')).toBeUndefined();
    expect(matchTokenPath('/v1.0/my/applications')).toBeUndefined();
  });
});
