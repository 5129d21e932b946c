"""Schemathesis hooks for test/fuzz/schemathesis.int.test.ts (loaded through SCHEMATHESIS_HOOKS).

They teach the generator two things the OpenAPI document states in words rather than in
JSON Schema; neither relaxes a check.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st

# -- `format: iso8601` (request dates) ------------------------------------------------------
#
# The API's own format (packages/domain/src/dates.ts, parseInputDate): any ISO 8601 date or
# date-time, extended or basic, naive (UTC), `Z` or an offset, in years 0001-9999 after the
# offset is applied. Schemathesis does not know the format, so without this it would send
# arbitrary strings as "valid" dates and positive_data_acceptance would flag every 400.
# Negative cases still get non-dates: the strategy is used for valid values only.

# Away from the ends of the range, so that no offset moves a date out of 0001-9999.
_INSTANTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30, 23, 59, 59))
_FRACTIONS = st.integers(min_value=1, max_value=9).flatmap(
    lambda digits: st.integers(min_value=0, max_value=10**digits - 1).map(lambda n: str(n).zfill(digits))
)
_OFFSETS = st.tuples(st.sampled_from("+-"), st.integers(0, 23), st.integers(0, 59))


@st.composite
def _iso8601(draw: st.DrawFn) -> str:
    moment: datetime = draw(_INSTANTS)
    basic = draw(st.booleans())
    # strftime("%Y") does not zero-pad years before 1000 on glibc, so the date is spelled out.
    dash = "" if basic else "-"
    date = f"{moment.year:04d}{dash}{moment.month:02d}{dash}{moment.day:02d}"
    if draw(st.booleans()):
        return date
    separator = "T" if basic else draw(st.sampled_from("T "))
    colon = "" if basic else ":"
    # Precision: hours, minutes, seconds, or seconds with a fraction of 1-9 digits.
    precision = draw(st.integers(min_value=0, max_value=3))
    time = f"{moment.hour:02d}"
    if precision >= 1:
        time += f"{colon}{moment.minute:02d}"
    if precision >= 2:
        time += f"{colon}{moment.second:02d}"
    if precision == 3:
        time += draw(st.sampled_from(".,")) + draw(_FRACTIONS)
    zone_kind = draw(st.sampled_from(["naive", "Z", "hours", "hours-minutes"]))
    zone = ""
    if zone_kind == "Z":
        zone = "Z"
    elif zone_kind != "naive":
        sign, hours, minutes = draw(_OFFSETS)
        zone = f"{sign}{hours:02d}"
        if zone_kind == "hours-minutes":
            # Extended form takes `+10:00` or `+1000`; basic form only `+1000`.
            zone += (draw(st.sampled_from(["", ":"])) if not basic else "") + f"{minutes:02d}"
    return f"{date}{separator}{time}{zone}"


schemathesis.openapi.format("iso8601", _iso8601())


# -- Idempotency-Key: one key per request -------------------------------------------------
#
# createTodo documents that a key reused with another body is a 422 and that a key reused
# with the same body replays the first 201 (even if that todo has since been deleted). The
# generator draws keys from `^[\x21-\x7e]{1,255}$` and soon repeats short ones ("0", "!"),
# so without this the run would report documented behaviour as failures (positive data
# rejected with 422; a "created" todo that GET/PUT/DELETE cannot find). Keeping each
# well-formed key's characters and making it unique keeps the header fuzzed and every 201 a
# real creation, which is what the stateful checks (read-your-writes through the cache) need.
# Malformed keys (negative cases) are sent as generated. Replay and 422 have their own tests
# in services/todo-write.

_KEY_HEADER = "idempotency-key"
_KEY_MAX = 255
_SUFFIX_LENGTH = 33  # "." + 32 hex digits


def _is_well_formed_key(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= _KEY_MAX and all("\x21" <= c <= "\x7e" for c in value)


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    if not case.headers:
        return
    for name, value in list(case.headers.items()):
        if name.lower() == _KEY_HEADER and _is_well_formed_key(value):
            case.headers[name] = f"{value[: _KEY_MAX - _SUFFIX_LENGTH]}.{uuid.uuid4().hex}"
