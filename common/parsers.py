import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser


class RequestTooLarge(APIException):
    status_code = 413
    default_code = "request_too_large"
    default_detail = "The request body is too large."


class DecimalJSONParser(JSONParser):
    """JSON with every non-integer number read as Decimal: a float never touches money."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            raw = stream.read(limit + 1) if limit else stream.read()
            if limit and len(raw) > limit:
                raise RequestTooLarge(f"The body is larger than {limit} bytes.")
            text = raw.decode(encoding)
            data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from exc
        # Text the database cannot store (PostgreSQL refuses NUL) or that cannot be written back
        # as UTF-8 (a lone surrogate) is refused here, once, for every endpoint.
        if "\\u0000" in text or not _encodable(data):
            raise ParseError("The body contains a NUL character or an unpaired surrogate.")
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _encodable(data) -> bool:
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
