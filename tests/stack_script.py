"""A user's own script against `pv local up`: plain boto3 and `.artifacts/local/stack.json`, nothing
of this project imported. It subscribes a queue of its own to the safety alerts topic, puts a
document into the intake bucket as `aws s3 cp` would, and prints the first alert that arrives.

    python stack_script.py .artifacts/local/stack.json email/report.eml report.eml
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import boto3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack_file", type=Path)
    parser.add_argument("key", help="object key, under email/, call/ or social/")
    parser.add_argument("document", type=Path)
    parser.add_argument("--wait", type=float, default=300.0, help="seconds to wait for the alert")
    args = parser.parse_args(argv)

    stack = json.loads(args.stack_file.read_text())
    session = boto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=stack["region"]
    )
    s3, sqs, sns = (session.client(s, endpoint_url=stack["endpoint_url"]) for s in ("s3", "sqs", "sns"))
    outputs = stack["outputs"]

    inbox = sqs.create_queue(QueueName="my-safety-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=outputs["SafetyAlertsTopicArn"], Protocol="sqs", Endpoint=inbox_arn["QueueArn"])
    put = s3.put_object(Bucket=outputs["IntakeBucketName"], Key=args.key, Body=args.document.read_bytes())

    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1).get("Messages", [])
        if messages:
            envelope = json.loads(messages[0]["Body"])
            alert = {"version_id": put.get("VersionId"), "alert": json.loads(envelope["Message"])}
            alert["attributes"] = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            print(json.dumps(alert))
            return 0
    print(f"no alert within {args.wait:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
