/**
 * The watchdog stack's name: the prefix of the alarm names the stack creates for itself (drill, Store
 * health, self-check, its own health). Its own module, so that the config (which names the Store health
 * alarms) and the app (which names the stack) agree without importing each other.
 */
export const STACK_NAME = 'StoreRolloutWatchdog';
