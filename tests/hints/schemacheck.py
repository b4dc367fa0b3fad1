"""JSON Schema check of throttle-hints/1 files for the hints tests: with
the jsonschema module when it is importable, else a small checker of the
keywords doc/throttle-hints.schema.json uses. Standard library only."""
import re


def validate(v, s, path="$"):
    errs = []
    if "const" in s and v != s["const"]:
        errs.append(f"{path}: not {s['const']!r}")
    if "enum" in s and v not in s["enum"]:
        errs.append(f"{path}: {v!r} not in enum")
    t = s.get("type")
    types = {"object": dict, "array": list, "string": str,
             "boolean": bool, "number": (int, float), "integer": int}
    if t and (not isinstance(v, types[t]) or
              (t in ("integer", "number") and isinstance(v, bool))):
        return errs + [f"{path}: not {t}"]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            errs.append(f"{path}: below {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            errs.append(f"{path}: above {s['maximum']}")
    if isinstance(v, str) and "pattern" in s and \
            not re.search(s["pattern"], v):
        errs.append(f"{path}: {v!r} does not match {s['pattern']}")
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                errs.append(f"{path}: missing {k}")
        if "minProperties" in s and len(v) < s["minProperties"]:
            errs.append(f"{path}: too few members")
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            errs.append(f"{path}: too many members")
        for k, x in v.items():
            if k in s.get("properties", {}):
                errs += validate(x, s["properties"][k], f"{path}.{k}")
            elif isinstance(s.get("additionalProperties"), dict):
                errs += validate(x, s["additionalProperties"],
                                 f"{path}.{k}")
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append(f"{path}: too few items")
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append(f"{path}: too many items")
        for i, x in enumerate(v):
            if "items" in s:
                errs += validate(x, s["items"], f"{path}[{i}]")
    return errs


def schema_errors(doc, schema):
    """Errors of doc against the schema: with the jsonschema module when
    it is importable (Draft 2020-12, as the schema says), else with the
    small checker above (the keywords our schema uses)."""
    try:
        import jsonschema
    except ImportError:
        return validate(doc, schema)
    v = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.path))}: {e.message}"
            for e in v.iter_errors(doc)]
