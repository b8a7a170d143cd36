"""Errors of sites and slots; api/errors.py maps their kinds to HTTP statuses."""

from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, NotFound


class SiteNotFound(NotFound):
    code = "site_not_found"
    title = "No such site"


class SiteNameTaken(Conflict):
    code = "site_name_taken"
    title = "A site with this name already exists"


class InvalidSite(AppError):
    kind = ErrorKind.INVALID
    code = "invalid_site"
    title = "The site's settings are not valid"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    title = "No such staff account"


class NotAtThisSite(AppError):
    kind = ErrorKind.FORBIDDEN
    code = "not_at_this_site"
    title = "Your account does not belong to this site"
