"""The safety alerts topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pv.case_models import SafetyAlert


@dataclass
class AlertPublisher:
    sns: Any  # boto3 sns client
    topic_arn: str

    def publish(self, alert: SafetyAlert) -> str:
        """Publish the alert with attributes subscribers filter on; returns the message id."""
        drugs = alert.suspect_drugs or ["unknown"]
        prefix = "SERIOUS " if alert.serious else ""
        response = self.sns.publish(
            TopicArn=self.topic_arn,
            Subject=f"{prefix}adverse event case {alert.case_id}"[:100],
            Message=alert.model_dump_json(),
            MessageAttributes={
                "serious": {"DataType": "String", "StringValue": str(alert.serious).lower()},
                "channel": {"DataType": "String", "StringValue": alert.channel.value},
                "drug": {"DataType": "String.Array", "StringValue": json.dumps(drugs)},
                "case_id": {"DataType": "String", "StringValue": alert.case_id},
            },
        )
        return str(response["MessageId"])
