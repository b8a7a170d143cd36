"""cityid kernel: settings, database, clock, base errors and the command line."""
