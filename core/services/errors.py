"""Errors the services raise; their messages are written for the person who caused them."""


class ServiceError(Exception):
    """A use-case could not be carried out; the message says what to fix."""


class NotFound(ServiceError):
    """The object named does not exist."""


class AlreadyExists(ServiceError):
    """An object with that name or address exists already."""


class InvalidInput(ServiceError):
    """The input is not acceptable; the message says why."""


class Refused(ServiceError):
    """The request is understood but not carried out in the current state; the message says why."""
