# SPDX-License-Identifier: Apache-2.0
"""Validates statsctl --json output files against docs/statsctl.schema.json.

usage: validate_json.py SCHEMA FILE...   (a FILE may hold one document per line)
"""
import json
import sys

import jsonschema


def documents(path):
    text = open(path, encoding="utf-8").read()
    try:
        yield json.loads(text)
    except json.JSONDecodeError:
        for line in text.splitlines():  # watch --json: one document per line
            yield json.loads(line)


def main():
    schema = json.load(open(sys.argv[1], encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    count = 0
    for path in sys.argv[2:]:
        for doc in documents(path):
            errors = sorted(validator.iter_errors(doc), key=str)
            for e in errors:
                print(f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}")
            if errors:
                sys.exit(1)
            count += 1
    print(f"{count} documents valid")


main()
