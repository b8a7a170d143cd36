"""Enrollment: residents, applications, the document rulebook, review, duplicates, status."""
