/**
 * Microsoft's endpoints the watchdog talks to unless told otherwise. A leaf module (it imports nothing),
 * so configuration can name the defaults without loading the Store transport.
 */

/** The Store API base the watchdog talks to by default [get-app-data.md]. */
export const DEFAULT_STORE_BASE_URL = 'https://manage.devcenter.microsoft.com/v1.0/my/';

/** Azure AD's public authority [create-and-manage-submissions-using-windows-store-services.md]. */
export const DEFAULT_AZURE_AD_AUTHORITY = 'https://login.microsoftonline.com';
