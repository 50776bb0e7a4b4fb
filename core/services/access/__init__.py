"""Access and audit: signing in, admin roles, the audit log."""
