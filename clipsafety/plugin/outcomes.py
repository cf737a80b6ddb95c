"""The exceptions a clipsafety case raises in pytest, so pytest reports a failure and an error apart."""


class CheckFailed(Exception):
    """A check's threshold was not met; the message is the failure table."""


class CaseError(Exception):
    """A case could not be measured (bad probe settings, a NaN image, ...)."""


class CaseInconclusive(Exception):
    """A check could not have failed (or shown) on this model: never a pass."""
