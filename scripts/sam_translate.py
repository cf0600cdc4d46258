"""Translates template.yaml (SAM) into plain CloudFormation JSON on stdout, offline, so
that cfn-lint can check what CloudFormation will actually receive (cfn-lint on the SAM
source misses bad runtimes, architectures and event-source properties).

Usage: python sam_translate.py template.yaml > template.cfn.json
Local CodeUri values become a placeholder S3 location, as `sam package` would make them;
managed policies resolve against an empty table (the template uses none).
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class EmptyPolicyLoader:
    def load(self):
        return {}


def main(path):
    # The translator fills pseudo parameters from the session's region; any region does.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://placeholder-bucket/placeholder.zip"
    translated = transform(template, {}, EmptyPolicyLoader())
    json.dump(translated, sys.stdout, indent=1, default=str)


if __name__ == "__main__":
    main(sys.argv[1])
