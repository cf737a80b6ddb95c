"""The exceptions a clipsafety case raises in pytest, so pytest reports a failure and an error apart."""


class CheckFailed(Exception):
    """A check's threshold was not met; the message is the failure table, whose first line (the headline)
    carries the number."""

    @property
    def headline(self) -> str:
        return str(self).split("\n", 1)[0]


class CaseError(Exception):
    """A case could not be measured (bad probe settings, a NaN image, ...)."""


class CaseInconclusive(Exception):
    """A check could not have failed (or shown) on this model: never a pass."""


def failure_repr(err: Exception, path: str, lineno: int, style: str):
    """What pytest shows of a failed case under --tb=STYLE: the whole table (auto, long), the headline and the
    case's line (short), nothing (no). The crash line, which --tb=line and -rA's short summary print, is
    the suite line and the headline."""
    from _pytest._code.code import ReprFileLocation, TerminalRepr

    text = str(err)
    headline = text.split("\n", 1)[0]

    class FailureRepr(TerminalRepr):
        def __init__(self):
            self.reprcrash = ReprFileLocation(path, lineno, headline)

        def toterminal(self, tw) -> None:
            if style in ("no", "line"):  # under line, pytest prints the crash line itself
                return
            if style == "short":
                tw.line("\n".join(text.split("\n")[:2]))
                self.reprcrash.toterminal(tw)
                return
            tw.line(text)

    return FailureRepr()
