"""The simulated paths, so tests and clients do not retype them."""

SIGN_IN = "/api/v1/admin_auth/sign_in"
SIGN_OUT = "/api/v1/admin_auth/sign_out"
CLIENTS = "/api/v1/organizations/clients"
UPSERT = "/api/v1/organizations/clients/upsert"
UPDATE_LINKS = "/api/v1/organizations/clients/update_links"
UPDATE_STATUSES = "/api/v1/organizations/referrals/update_statuses"
CONTROL = "/__sim"
