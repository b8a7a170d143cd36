"""Errors of public booking and the clerk's day."""

from __future__ import annotations

from cityid.errors import AppError, Conflict, ErrorKind, NotFound, Throttled


class SlotTaken(Conflict):
    code = "slot_taken"
    title = "Someone else has just booked this slot; please pick another"


class SlotNotOpen(AppError):
    kind = ErrorKind.CONFLICT
    code = "slot_not_open"
    title = "This slot is not open for booking"


class SlotNotFound(NotFound):
    code = "slot_not_found"
    title = "No such slot"


class AppointmentNotFound(NotFound):
    code = "appointment_not_found"
    title = "No appointment has this booking code"


class InvalidBookingCode(AppError):
    code = "invalid_booking_code"
    title = "This is not a valid booking code"


class InvalidBooking(AppError):
    code = "invalid_booking"
    title = "The booking is not valid"


class TooManyBookings(AppError):
    kind = ErrorKind.CONFLICT
    code = "too_many_bookings"
    title = "You already hold as many appointments as one person may"


class BookingThrottled(Throttled):
    code = "booking_throttled"
    title = "Too many booking attempts; try again later"


class AppointmentClosed(AppError):
    kind = ErrorKind.CONFLICT
    code = "appointment_closed"
    title = "This appointment can no longer be changed"
