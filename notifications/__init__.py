"""Every message the program sends: one outbox, rendered in the holder's language at send time,
delivered by SMTP or an SMS provider, deleted once sent."""
