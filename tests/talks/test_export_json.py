"""JSON exports follow the schema documented in docs/export-schema.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from talks.documents import save_day
from talks.exporting import JsonExporter
from talks.models import Day, Highlight, SnippetLine
from tests.factories import big_day_doc

SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "export-schema.md"
TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "null": type(None),
    "boolean": bool,
}


def documented_schema() -> dict:
    block = re.search(r"```json\n(.*?)\n```", SCHEMA_DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/export-schema.md has no ```json block"
    return json.loads(block.group(1))


def validate(value, schema: dict, root: dict, where: str = "$") -> None:
    """Just enough JSON Schema for ours: $ref, type, const, enum, required, properties,
    additionalProperties: false, items, minimum."""
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if "const" in schema:
        assert value == schema["const"], f"{where}: {value!r} is not {schema['const']!r}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if "type" in schema:
        allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(
            isinstance(value, TYPES[t]) and not (t == "integer" and isinstance(value, bool))
            for t in allowed
        )
        assert ok, f"{where}: {value!r} is not {allowed}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            extra = set(value) - set(properties)
            assert not extra, f"{where}: undocumented keys {sorted(extra)}"
        for key, item in value.items():
            if key in properties:
                validate(item, properties[key], root, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            validate(item, schema["items"], root, f"{where}[{index}]")
    if "minimum" in schema and isinstance(value, int):
        assert value >= schema["minimum"], f"{where}: {value} < {schema['minimum']}"


def test_it_exports_a_day_that_matches_the_documented_schema(demo_day):
    data = json.loads(JsonExporter().export_day(demo_day))
    schema = documented_schema()
    validate(data, schema, schema)
    assert (data["format"], data["version"]) == ("confnotes", 1)
    assert data["conference"]["name"] == "DockerCon 2016"
    day = data["days"][0]
    assert (day["number"], day["date"], day["author"]) == (1, "2016-06-20", "Ryan Walls")
    keynote = day["talks"][0]
    assert (keynote["slug"], keynote["kind"]) == ("keynote", "keynote")
    success = keynote["highlights"][0]
    assert (success["style"], success["kind"], len(success["children"])) == (
        "heading",
        "success",
        3,
    )
    commands = keynote["highlights"][1]["snippets"][0]["lines"]
    assert commands[1]["command"] == "docker service ls"
    assert commands[1]["last_output"] is None


def test_it_includes_outputs_and_resolutions_when_there_are_some(demo_day):
    line = SnippetLine.objects.get(command="docker service ls")
    follow_up = Highlight.objects.filter(kind="follow-up").first()
    follow_up.resolved_at = timezone.now()
    follow_up.resolution = "Use the **dev** channel."
    follow_up.save()
    data = json.loads(JsonExporter(outputs={line.pk: "ID  NAME\n"}).export_day(demo_day))
    schema = documented_schema()
    validate(data, schema, schema)
    text = json.dumps(data)
    assert '"last_output": "ID  NAME\\n"' in text
    assert '"text": "Use the **dev** channel."' in text


def test_it_exports_a_conference_with_all_its_days(demo_day):
    data = json.loads(JsonExporter(base_url="https://notes.example").export_conference(
        demo_day.conference))  # fmt: skip
    schema = documented_schema()
    validate(data, schema, schema)
    assert data["conference"]["url"] == "https://notes.example/c/dockercon-2016/"
    assert [day["url"] for day in data["days"]] == ["https://notes.example/c/dockercon-2016/day-1/"]


def test_it_reads_a_day_in_the_same_number_of_queries_whatever_its_size(demo_day):
    big, _ = save_day(big_day_doc(talks=5, highlights_per_talk=4))
    counts = []
    for day in (demo_day, big):
        with CaptureQueriesContext(connection) as queries:
            JsonExporter().export_day(Day.objects.select_related("conference").get(pk=day.pk))
        counts.append(len(queries))
    assert counts[0] == counts[1]
