from __future__ import annotations

from cityid.errors import AppError


class UnknownNoticeKind(AppError):
    code = "unknown_notice_kind"
    title = "There is no notification of that kind"


class NoticeNotOptional(AppError):
    code = "notice_not_optional"
    title = "This notification is only sent when you ask for it, and cannot be turned off"
