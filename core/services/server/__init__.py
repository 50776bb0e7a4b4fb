"""The server: the admin dashboard, queued jobs, where the stack keeps mail."""
