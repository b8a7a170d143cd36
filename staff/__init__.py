"""Staff accounts (clerk, supervisor, admin, auditor), passwords and bearer tokens."""
