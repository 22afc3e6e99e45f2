/**
 * What the pager queue receives from the notification topic: decisions whose `outcome` is `failed`,
 * and messages with no `outcome` at all (the watchdog's own health alarms, which CloudWatch publishes
 * without attributes). Values of one attribute are ORed by SNS (`exists` first: the local emulator
 * stops at a string value when the attribute is missing).
 */
export const PAGER_OUTCOME_FILTER: readonly unknown[] = [{ exists: false }, 'failed'];
