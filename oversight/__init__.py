"""Oversight: the privacy operations that span every domain package: retention and
crypto-shredding runs, legal holds, records requests, the subpoena drill, impact reports.

It sits above enrollment, idcard and redemption (which it reads) and below api/."""
