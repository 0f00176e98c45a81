"""Serializer building blocks shared by the apps' APIs."""

from collections.abc import Mapping

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, so a typo or a smuggled field (`price`) is an error, not ignored."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings, no 1.0, no booleans."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


_templates: dict[type, serializers.BaseSerializer] = {}


def represent(serializer_class: type[serializers.Serializer], instance) -> dict:
    """`dict(serializer_class(instance).data)`, for the hot paths (a trade's answer and its event,
    a price change's event to every screen).

    Each new serializer deep-copies its declared fields, and a ModelSerializer builds its fields
    from the model, every time: a large part of a trade's answer (docs/performance.md). Writing
    out a value needs neither, so each class is made once and its bound fields reused. Only for
    output: validation keeps state on the serializer, and is done by a new one each time.
    Reading is safe across threads: a field keeps nothing between calls of to_representation.
    """
    template = _templates.get(serializer_class)
    if template is None:
        template = serializer_class()
        _ = template.fields  # bound once, here, before any thread can share it
        template = _templates.setdefault(serializer_class, template)
    return dict(template.to_representation(instance))


def represent_many(serializer_class: type[serializers.Serializer], instances) -> list[dict]:
    """`list(serializer_class(instances, many=True).data)`, made as `represent` makes one."""
    return [represent(serializer_class, instance) for instance in instances]
