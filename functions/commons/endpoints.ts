/**
 * Microsoft's endpoints the watchdog talks to unless told otherwise. A leaf module (it imports nothing),
 * so configuration can name the defaults without loading the Store transport.
 */

/** The Store API base the watchdog talks to by default (Microsoft's "Get app data"). */
export const DEFAULT_STORE_BASE_URL = 'https://manage.devcenter.microsoft.com/v1.0/my/';

/** Azure AD's public authority (Microsoft's "Create and manage submissions"). */
export const DEFAULT_AZURE_AD_AUTHORITY = 'https://login.microsoftonline.com';
