#!/usr/bin/env python3
"""Kubernetes' own OpenAPI document -> JSON schemas in the layout kubeconform reads.

    kubeconform-core-schemas.py <kubeconform module dir> <swagger.json> <out dir>

swagger.json is api/openapi-spec/swagger.json of the k8s.io/kubernetes module (fetched through the
Go module proxy by scripts/kubeconform.sh). Writes <out dir>/_definitions.json (every definition,
made strict) and one small schema per group/version/kind, named as kubeconform's
`{{ .ResourceKind }}{{ .KindSuffix }}.json` template expects (deployment-apps-v1.json,
configmap-v1.json, networkpolicy-networking-v1.json), each a $ref into _definitions.json.

The rules are those of kubeconform's own scripts/openapi2jsonschema.py (imported from the
module, not copied): every object with `properties` gets additionalProperties false (what
kubeconform's -strict means), and int-or-string fields accept both. One addition: resource
quantities (`cpu: 1`) are strings or numbers, as the API server accepts them.
"""
import json
import os
import sys

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"


def schema_name(gvk):
    """kubeconform's file name: kind, then the group's first label (none for the core group), then the version."""
    group = gvk["group"].split(".")[0]
    parts = [gvk["kind"].lower()] + ([group.lower()] if group else []) + [gvk["version"].lower()]
    return "-".join(parts) + ".json"


def main(kubeconform_dir, swagger_path, out_dir):
    sys.path.insert(0, os.path.join(kubeconform_dir, "scripts"))
    import openapi2jsonschema as o2j  # kubeconform's converter (needs PyYAML, which it imports)

    with open(swagger_path) as f:
        definitions = json.load(f)["definitions"]
    definitions[QUANTITY] = {
        "description": definitions[QUANTITY].get("description", ""),
        "oneOf": [{"type": "string"}, {"type": "number"}],
    }
    definitions = o2j.replace_int_or_string(o2j.additional_properties(definitions))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "_definitions.json"), "w") as f:
        json.dump({"definitions": definitions}, f)
    written = 0
    for name, definition in sorted(definitions.items()):
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            with open(os.path.join(out_dir, schema_name(gvk)), "w") as f:
                json.dump({"$ref": "_definitions.json#/definitions/" + name}, f)
            written += 1
    if written == 0:
        sys.exit("no group/version/kind in " + swagger_path)
    print("kubeconform: %d core schemas from %s" % (written, swagger_path))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
