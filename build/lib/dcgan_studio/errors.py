"""Which exceptions carry a message meant for the user, for the CLI and the Studio alike.

``UserError`` is the one base class of the project's user-facing errors: every typed error of the core
(``ConfigError``, ``CheckpointError``, ``DatasetError``, ``ZipDatasetError``, ``HubError``, ``DirectionsError``,
``NonFiniteError``) and the Studio's ``StudioError`` derives from it, and its message says what was wrong and what to
do. It is a ``ValueError`` so that code which catches bad values keeps working, but a bare ``ValueError`` (or any
other exception) is not a user error: whatever a library raises is a bug until the code that calls it names the
problem with a typed error. ``FileNotFoundError`` names a missing file. The CLI prints these as one ``error:`` line
(exit 2), the Studio as a toast. Anything else is a bug: the CLI prints its traceback (exit 1), the Studio logs it
under a reference it shows.
"""


class UserError(ValueError):
    """Bad input, named: the message says what was wrong and what to do instead."""


class ConfigError(UserError):
    """A value is out of range (an option of a config, an argument of a core call); the message says which and what
    is allowed (``limits.check_int`` / ``check_float`` / ``options.check`` write it)."""


USER_ERRORS: tuple[type[Exception], ...] = (UserError, FileNotFoundError)
