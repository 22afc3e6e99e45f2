/**
 * The schema of `WATCHDOG_APPS` (see the Lambda contract). The CDK stack validates its config with the
 * same schema at synth time, so a bad config fails `cdk synth`, not the first alarm.
 */

import * as z from '../validation.ts';
import { APPLICATION_ID_PATTERN, FLIGHT_ID_PATTERN } from './ids.ts';

const alarmNameListSchema = z._default(z.array(z.string().check(z.minLength(1), z.maxLength(255))), []);

export const watchedAppSchema = z
  .strictObject({
    applicationId: z
      .string()
      .check(
        z.regex(
          APPLICATION_ID_PATTERN,
          'must be the Store ID: 12 upper-case letters and digits, e.g. 9NBLGGH4R315',
        ),
      ),
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
    /** Alarms that may halt this app. */
    alarmNames: alarmNameListSchema,
    /** Alarms that only tell people about this app (a warning tier); never in `alarmNames` too. */
    notifyAlarmNames: alarmNameListSchema,
    flights: z.optional(
      z.union([
        z.literal('all'),
        z.array(z.string().check(z.regex(FLIGHT_ID_PATTERN, 'must be a flight ID (a GUID)'))).check(
          z.minLength(1, 'must list at least one flight ID, or be "all", or be left out'),
          // Each flight is examined (and halted) once: a repeated ID would send two halts at once.
          z.refine(
            (ids) => new Set(ids.map((id) => id.toLowerCase())).size === ids.length,
            'lists a flight ID twice',
          ),
        ),
      ]),
    ),
    mode: z._default(z.enum(['enforce', 'dry-run']), 'enforce'),
  })
  .check(
    z.superRefine((app, ctx) => {
      const halting = new Set(app.alarmNames);
      app.notifyAlarmNames.forEach((name, index) => {
        if (halting.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['notifyAlarmNames', index],
            message: `"${name}" is also in alarmNames: an alarm either halts the app or only notifies`,
          });
        }
      });
    }),
  );

export const watchedAppsSchema = z.array(watchedAppSchema).check(
  z.minLength(1, 'must list at least one app'),
  z.superRefine((apps, ctx) => {
    const seen = new Set<string>();
    apps.forEach((app, index) => {
      if (seen.has(app.applicationId)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'applicationId'],
          message: `${app.applicationId} is listed twice`,
        });
      }
      seen.add(app.applicationId);
    });
  }),
);

/** An app as configured (defaults applied). */
export type WatchedApp = z.output<typeof watchedAppSchema>;
/** An app as written in config (defaults optional). */
export type WatchedAppInput = z.input<typeof watchedAppSchema>;
