"""The embedded local stack: moto, the template's resources, a model endpoint and the event pump.

    with LocalStack(model_dir=".artifacts/models/ae-classifier") as stack:
        stack.upload("email/report.eml", data)
        stack.run_until_idle()
        print(stack.alerts())

With `extractor_dir` the same local server also serves the extraction model, under the endpoint
name `ae-extractor-local`, and the template's `ExtractorEndpointName` names it (CaseFunction then
adds the model's entities to the lexicon's); without it that parameter stays empty (lexicon only).
Likewise `summarizer_dir`: a summarization model served as `case-summarizer-local` and named by
`SummarizerEndpointName` (CaseFunction keeps its summary when it names nothing the text does not,
else the extractive one); without it the extractive summary alone.

Everything comes from `template.yaml`: the resources (created in a moto server on 127.0.0.1 and
a free port), the functions' handlers, batch sizes and environment. Handlers run in this process,
with `AWS_ENDPOINT_URL` pointing every AWS client at moto and
`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` at the model server (or at any server that follows the
SageMaker runtime contract). Moto's state is process-wide: run one LocalStack at a time.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3

from pv_local.containers import ContainerPool, FunctionContainer, started
from pv_local.emulation import faster_moto
from pv_local.gateway import LocalGateway, LocalTokens
from pv_local.provision import ACCOUNT_ID, ProvisionedStack, provision
from pv_local.pump import (
    EventPump,
    FunctionEnvironment,
    Handler,
    LocalFunction,
    PumpStats,
    QueueSource,
    lambda_variables,
)
from pv_local.resources import Provisioned
from pv_local.template import FunctionSpec, Template, TemplateError, load_template
from pv_local.transport import InProcessMoto

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"
DEFAULT_REGION = "eu-west-1"
CLASSIFIER_PARAMETER = "ClassifierEndpointName"
EXTRACTOR_PARAMETER = "ExtractorEndpointName"
SUMMARIZER_PARAMETER = "SummarizerEndpointName"
PHRASE_MAPPER_PARAMETER = "PhraseMapperEndpointName"
THRESHOLD_PARAMETER = "ClassifierThreshold"
LOCAL_EXTRACTOR_ENDPOINT = "ae-extractor-local"
LOCAL_SUMMARIZER_ENDPOINT = "case-summarizer-local"
LOCAL_PHRASE_MAPPER_ENDPOINT = "phrase-mapper-local"
# The optional models served beside the classifier: role -> (the template parameter naming its
# endpoint, that endpoint's local name).
OPTIONAL_ENDPOINTS = {
    "extractor": (EXTRACTOR_PARAMETER, LOCAL_EXTRACTOR_ENDPOINT),
    "summarizer": (SUMMARIZER_PARAMETER, LOCAL_SUMMARIZER_ENDPOINT),
    "phrase_mapper": (PHRASE_MAPPER_PARAMETER, LOCAL_PHRASE_MAPPER_ENDPOINT),
}
# Values for template parameters that have no default (the endpoint's name is free locally).
LOCAL_PARAMETERS = {CLASSIFIER_PARAMETER: "ae-classifier-local"}

# The template's logical ids the local tools read from (the resources themselves come from it).
INTAKE_BUCKET = "IntakeBucket"
SOCIAL_QUEUE = "SocialQueue"
SAFETY_ALERTS_TOPIC = "SafetyAlertsTopic"
SCREENINGS_TABLE = "ScreeningsTable"
CASES_TABLE = "CasesTable"
CASE_DRUGS_TABLE = "CaseDrugsTable"
AUDIT_TABLE = "AuditTable"
REVIEW_FUNCTION = "ReviewFunction"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedAlert:
    """A message the safety topic delivered to the local subscriber queue."""

    message: Any  # the published message, parsed from JSON when it is JSON
    attributes: dict[str, str]
    timestamp: str
    message_id: str


@dataclass(frozen=True)
class DeadLetter:
    """A message that ended in a dead-letter queue."""

    queue: str  # logical id of the DLQ
    source_queue: str
    body: str
    receive_count: int


def reset_pipeline_runtime() -> None:
    """Drop the pipeline's cached settings and clients (they were made from the old environment)."""
    try:
        runtime = importlib.import_module("pv.runtime")
    except ImportError:
        importlib.import_module("pv.config").settings.cache_clear()
        return
    runtime.reset()


def import_handler(path: str) -> Handler:
    """`pv.handlers.screen.handler` -> the function."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class LocalStack:
    """The whole pipeline on this machine; a context manager that leaves nothing running."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        endpoint_url: str | None = None,
        *,
        extractor_dir: str | Path | None = None,
        summarizer_dir: str | Path | None = None,
        phrase_mapper_dir: str | Path | None = None,
        template: str | Path = DEFAULT_TEMPLATE,
        parameters: Mapping[str, str] | None = None,
        handlers: Mapping[str, Handler] | None = None,
        region: str | None = None,
        stack_name: str = "pv-local",
        retry_delay_s: int = 1,
        backend: str = "torch",
        function_log: IO[str] | None = None,
        in_process_aws: bool = True,
        moto_speedups: bool = True,
        containers: bool = False,
        stage_clock: bool = False,
        container_profiles: str | Path | None = None,
        concurrency: int = 1,
    ) -> None:
        if model_dir is not None and endpoint_url is not None:
            raise ValueError("give model_dir (a local model server is started) or endpoint_url, not both")
        if containers and not in_process_aws:
            raise ValueError("containers relay their AWS calls to this process: they need in_process_aws")
        if concurrency < 1 or (concurrency > 1 and not containers):
            raise ValueError("concurrency is the containers per function (1 or more, with containers)")
        optional = {
            "extractor": extractor_dir,
            "summarizer": summarizer_dir,
            "phrase_mapper": phrase_mapper_dir,
        }
        for role, folder in optional.items():
            if folder is not None and model_dir is None:
                raise ValueError(
                    f"{role}_dir is served beside model_dir; with endpoint_url, name the {role} "
                    f"endpoint with parameters={{{OPTIONAL_ENDPOINTS[role][0]!r}: ...}}"
                )
        self.template_path = Path(template)
        self.model_dir = Path(model_dir) if model_dir is not None else None
        self.extractor_dir = Path(extractor_dir) if extractor_dir is not None else None
        self.summarizer_dir = Path(summarizer_dir) if summarizer_dir is not None else None
        self.phrase_mapper_dir = Path(phrase_mapper_dir) if phrase_mapper_dir is not None else None
        # Role -> folder of each optional model to serve.
        self._optional = {role: Path(folder) for role, folder in optional.items() if folder is not None}
        self.backend = backend
        self._endpoint_url = endpoint_url
        self._parameters = dict(parameters or {})
        self._handler_overrides = dict(handlers or {})
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.stack_name = stack_name
        self.retry_delay_s = retry_delay_s
        self.function_log = function_log
        self.in_process_aws = in_process_aws
        self.moto_speedups = moto_speedups  # pv_local.emulation, while the stack runs
        # Queue-fed functions in container processes of their own (pv_local.containers).
        self.use_containers = containers
        self.containers: dict[str, ContainerPool] = {}
        self.concurrency = concurrency  # containers per queue-fed function (invocations at once)
        self.stage_clock = stage_clock  # containers time their stages (pv_local.bench.StageClock)
        # A folder for each container's cProfile (container-<LogicalId>-<n>.prof, written at stop).
        self.container_profiles = Path(container_profiles) if container_profiles is not None else None
        # This process's own AWS calls, answered by moto without HTTP (None: all over HTTP).
        self.transport: InProcessMoto | None = None
        self._emulation = contextlib.ExitStack()  # moto's speedups, undone at stop
        self.resources: dict[str, Provisioned] = {}
        self.provisioned: ProvisionedStack | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.moto_url = ""
        self.sagemaker_url = ""
        self._moto: Any = None
        self._model_server: Any = None
        self.parameters: dict[str, str] = {}  # template parameters given or defaulted here
        self.served: dict[str, Path] = {}  # endpoint name -> model folder of the local model server
        self._saved_environ: dict[str, str] | None = None
        self._pump: EventPump | None = None
        self._clients: dict[str, Any] = {}
        self._alerts: list[ReceivedAlert] = []
        self._specs: dict[str, FunctionSpec] = {}
        self._gateways: list[LocalGateway] = []
        self._alert_queue_url = ""

    # lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        """Start moto, create the template's resources, start the endpoint, load the functions."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        from pv_local import s3_events

        s3_events.install()  # notifications name the object version, as S3's do

        body = load_template(self.template_path)
        declared = body.get("Parameters") or {}
        defaults = {k: v for k, v in LOCAL_PARAMETERS.items() if k in declared}
        threshold = self.model_threshold()
        if threshold is not None and THRESHOLD_PARAMETER in declared:
            defaults[THRESHOLD_PARAMETER] = threshold
        for role in self._optional:
            parameter, local_name = OPTIONAL_ENDPOINTS[role]
            if parameter in declared:
                defaults[parameter] = local_name
        parameters = {**defaults, **self._parameters}
        template = Template(body, parameters)
        self.parameters = {k: str(v) for k, v in parameters.items()}
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        if self.moto_speedups:
            self._emulation.enter_context(faster_moto())
        if self.in_process_aws:
            self.transport = InProcessMoto(self._moto._server.app, f"{host}:{port}")
            self._emulation.enter_context(self.transport.installed())
        # Moto's backends are process-wide: start from an empty account.
        urllib.request.urlopen(
            urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")
        ).close()

        self._saved_environ = dict(os.environ)
        self.sagemaker_url = self._endpoint_url or self._start_model_server(parameters)
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(self._aws_environment())
        reset_pipeline_runtime()

        self.provisioned = provision(
            self.session(), self.moto_url, template, region=self.region, stack_name=self.stack_name
        )
        resolver = self.provisioned.resolver
        self.resources = self.provisioned.resources
        self._subscribe_alert_inbox()

        specs = template.functions()
        envs = self.provisioned.environments()
        self._specs = {s.logical_id: s for s in specs}
        environment = FunctionEnvironment(envs, self.region, reset_pipeline_runtime)
        os.environ.update(environment.shared())
        for spec in specs:
            self.functions[spec.logical_id] = LocalFunction(
                logical_id=spec.logical_id,
                name=self.resources[spec.logical_id].ref,
                # Imported once, with the environment set, like a cold start (and before any log
                # redirection, so the functions' log handlers keep the real console).
                handler=self._handler_overrides.get(spec.logical_id) or import_handler(spec.handler),
                timeout_s=spec.timeout_s,
                memory_mb=spec.memory_mb,
                environment=envs[spec.logical_id],
            )

        sources = []
        for spec in specs:
            for event in spec.queue_events:
                if not event.enabled:
                    continue
                queue_arn = resolver.resolve(event.queue_arn)
                queue = self._queue_by_arn(queue_arn)
                sources.append(
                    QueueSource(
                        function=self.functions[spec.logical_id],
                        queue_url=queue.ref,
                        queue_arn=queue_arn,
                        batch_size=int(resolver.resolve(event.batch_size)),
                        report_batch_item_failures=event.report_batch_item_failures,
                    )
                )
        self._pump = EventPump(
            self.client("sqs"),
            sources,
            environment,
            self.region,
            ACCOUNT_ID,
            retry_delay_s=self.retry_delay_s,
            log_stream=self.function_log,
            emulator=self.transport,
        )
        if self.use_containers:
            self._start_containers({s.function.logical_id for s in sources}, envs)

    def _start_containers(self, logical_ids: set[str], envs: dict[str, dict[str, str]]) -> None:
        """Run each queue-fed function from the template (not a test's handler) in a container."""
        assert self.transport is not None
        stages = self.resource_names() if self.stage_clock else None
        for logical_id in sorted(logical_ids):
            fn = self.functions[logical_id]
            if logical_id in self._handler_overrides:
                continue
            environ = {**os.environ, **envs.get(logical_id, {}), **lambda_variables(fn, self.region)}
            self.containers[logical_id] = ContainerPool(
                [
                    FunctionContainer(
                        logical_id,
                        self._specs[logical_id].handler,
                        environ,
                        self.transport,
                        log=self.function_log,
                        stage_resources=stages,
                        profile_path=(
                            str(self.container_profiles / f"container-{logical_id}-{n}.prof")
                            if self.container_profiles is not None
                            else None
                        ),
                    )
                    for n in range(self.concurrency)
                ]
            )
        every = [c for pool in self.containers.values() for c in pool.containers]
        self._emulation.enter_context(started(every))
        for logical_id, pool in self.containers.items():
            self.functions[logical_id].handler = pool

    def resource_names(self) -> dict[str, str]:
        """Each resource's physical name, URL or ARN -> its logical id."""
        return {r.ref: logical for logical, r in self.resources.items()}

    def serve_http(self, logical_id: str, tokens: LocalTokens | None = None) -> LocalGateway:
        """Serve a function's HttpApi routes through the local HTTP gateway (stopped with the stack)."""
        spec = self._specs.get(logical_id)
        if spec is None or not spec.http_routes:
            raise TemplateError(f"{logical_id} is no function with HttpApi events in the template")
        pump = self.pump

        def invoke(fn: LocalFunction, event: dict[str, Any]) -> Any:
            with pump.invocation(fn) as context:
                return fn.handler(event, context)

        gateway = LocalGateway(
            self.functions[logical_id],
            spec.http_routes,
            invoke,
            tokens or LocalTokens(),
            account_id=ACCOUNT_ID,
        )
        self._gateways.append(gateway.start())
        return gateway

    def stop(self) -> None:
        """Stop the servers and restore the process environment."""
        for gateway in self._gateways:
            gateway.stop()
        self._gateways.clear()
        if self._model_server is not None:
            self._model_server.stop()  # pv_model's EndpointServer: socket and batch worker
            self._model_server = None
        self._emulation.close()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)
            self._saved_environ = None
            reset_pipeline_runtime()
        self._clients.clear()

    def model_threshold(self) -> str | None:
        """The decision threshold the served model was tuned to (its training.json), if any.

        A deployment passes it as the ClassifierThreshold parameter; locally it is passed for you.
        """
        if self.model_dir is None or not (self.model_dir / "training.json").is_file():
            return None
        threshold = json.loads((self.model_dir / "training.json").read_text()).get("threshold")
        return None if threshold is None else f"{float(threshold):.4f}"

    def _start_model_server(self, parameters: Mapping[str, str]) -> str:
        """One server for the classifier (any endpoint name, or its own beside the optional models)."""
        if self.model_dir is None:
            return ""
        from pv_model.serving.server import start_server

        classifier = parameters.get(CLASSIFIER_PARAMETER) or LOCAL_PARAMETERS[CLASSIFIER_PARAMETER]
        if not self._optional:
            self._model_server, url = start_server(self.model_dir, port=0, backend=self.backend)
            self.served = {classifier: self.model_dir}
            return str(url)
        self.served = {classifier: self.model_dir}
        for role, folder in self._optional.items():
            parameter, local_name = OPTIONAL_ENDPOINTS[role]
            name = parameters.get(parameter) or local_name
            if name in self.served:
                raise ValueError(f"the {role} cannot be endpoint {name!r}: another model is")
            self.served[name] = folder
        # The classifier's backend; the extractor and the summarizer serve with torch (their only one).
        self._model_server, url = start_server(self.served, port=0, backend={classifier: self.backend})
        return str(url)

    @property
    def model_server(self) -> Any:
        """The local model server (pv_model's EndpointServer), or None with endpoint_url."""
        return self._model_server

    def _aws_environment(self) -> dict[str, str]:
        env = {
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # No X-Ray daemon locally; the Tracer would only complain about missing segments.
            "POWERTOOLS_TRACE_DISABLED": "true",
            # Each function container builds the English lexicon once; later ones read it back
            # (pv.intelligence.lexicon, keyed by a digest of what the build reads).
            "PV_LEXICON_CACHE": os.environ.get("PV_LEXICON_CACHE")
            or str(Path(tempfile.gettempdir()) / "pv-lexicon-cache"),
        }
        if self.sagemaker_url:
            env["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] = self.sagemaker_url
        return env

    # access -------------------------------------------------------------------------------

    def session(self) -> boto3.Session:
        return boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            aws_session_token="testing",
            region_name=self.region,
        )

    def client(self, service: str) -> Any:
        """A boto3 client for the local stack."""
        if service not in self._clients:
            self._clients[service] = self.session().client(service, endpoint_url=self.moto_url)
        return self._clients[service]

    def table(self, logical_id: str) -> Any:
        """A boto3 DynamoDB Table resource for a table of the template."""
        resource = self.session().resource("dynamodb", endpoint_url=self.moto_url)
        return resource.Table(self.resources[logical_id].ref)

    def physical(self, logical_id: str) -> str:
        """What `Ref` returns for a resource of the template (name, URL or ARN)."""
        return self.resources[logical_id].ref

    def outputs(self) -> dict[str, str]:
        """The template's outputs that name resources of the local stack, resolved."""
        if self.provisioned is None:
            raise RuntimeError("the local stack is not started")
        return self.provisioned.outputs()

    @property
    def pump(self) -> EventPump:
        if self._pump is None:
            raise RuntimeError("the local stack is not started")
        return self._pump

    @property
    def bucket(self) -> str:
        return self.physical(INTAKE_BUCKET)

    def _queue_by_arn(self, arn: str) -> Provisioned:
        for resource in self.resources.values():
            if resource.type == "AWS::SQS::Queue" and resource.attributes.get("Arn") == arn:
                return resource
        raise TemplateError(f"an event source names {arn}, which is no queue of the template")

    # input --------------------------------------------------------------------------------

    def upload(self, key: str, data: bytes) -> None:
        """Put an object into the intake bucket (its notification goes to IntakeQueue)."""
        self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)

    def upload_tree(self, root: str | Path, files: Iterable[Path] | None = None) -> dict[str, Path]:
        """Upload every file under `root` (or the given ones), keyed by path relative to `root`."""
        root = Path(root)
        paths = sorted(files) if files is not None else sorted(p for p in root.rglob("*") if p.is_file())
        uploaded = {}
        for path in paths:
            key = path.relative_to(root).as_posix()
            self.upload(key, path.read_bytes())
            uploaded[key] = path
        return uploaded

    def send(self, queue_logical_id: str, body: str) -> str:
        """Send a message to a queue of the template (e.g. a post to SocialQueue)."""
        response = self.client("sqs").send_message(QueueUrl=self.physical(queue_logical_id), MessageBody=body)
        return str(response["MessageId"])

    # running ------------------------------------------------------------------------------

    def run_until_idle(
        self,
        timeout_s: float = 600.0,
        on_progress: Callable[[PumpStats, int], None] | None = None,
        concurrent: bool = False,
        arriving: threading.Event | None = None,
    ) -> PumpStats:
        """Pump until every queue is drained, then collect the alerts that arrived (`concurrent`:
        each function on its own thread; `arriving`: not idle before it is set;
        `EventPump.run_until_idle`)."""
        stats = self.pump.run_until_idle(
            timeout_s=timeout_s, on_progress=on_progress, concurrent=concurrent, arriving=arriving
        )
        self.alerts()
        return stats

    # output -------------------------------------------------------------------------------

    def _subscribe_alert_inbox(self) -> None:
        self._alert_queue_url = subscribe_alert_inbox(
            self.client("sqs"), self.client("sns"), self.physical(SAFETY_ALERTS_TOPIC), self.stack_name
        )

    def alerts(self) -> list[ReceivedAlert]:
        """Every alert received so far, in arrival order."""
        self.new_alerts()
        return list(self._alerts)

    def new_alerts(self) -> list[ReceivedAlert]:
        """Alerts that arrived since the last look (drained from the subscriber queue, kept)."""
        sqs = self.client("sqs")
        received: list[ReceivedAlert] = []
        while True:
            messages = sqs.receive_message(QueueUrl=self._alert_queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                self._alerts.extend(received)
                return received
            for message in messages:
                envelope = json.loads(message["Body"])
                received.append(
                    ReceivedAlert(
                        message=_maybe_json(envelope.get("Message", "")),
                        attributes={
                            k: v.get("Value", "") for k, v in envelope.get("MessageAttributes", {}).items()
                        },
                        timestamp=envelope.get("Timestamp", ""),
                        message_id=envelope.get("MessageId", ""),
                    )
                )
            sqs.delete_message_batch(
                QueueUrl=self._alert_queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def dead_letters(self) -> list[DeadLetter]:
        """Messages in the dead-letter queues; they stay there (each peek counts as a receive)."""
        sqs = self.client("sqs")
        found: list[DeadLetter] = []
        for source_id, source in self.resources.items():
            if source.type != "AWS::SQS::Queue":
                continue
            attrs = sqs.get_queue_attributes(QueueUrl=source.ref, AttributeNames=["RedrivePolicy"])
            attrs = attrs.get("Attributes", {})
            if "RedrivePolicy" not in attrs:
                continue
            dlq = self._queue_by_arn(json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"])
            peeked: list[dict[str, Any]] = []
            while True:
                messages = sqs.receive_message(
                    QueueUrl=dlq.ref,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=30,  # hidden while we page through the queue
                    MessageSystemAttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    break
                peeked.extend(messages)
            for start in range(0, len(peeked), 10):
                sqs.change_message_visibility_batch(
                    QueueUrl=dlq.ref,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                        for i, m in enumerate(peeked[start : start + 10])
                    ],
                )
            found.extend(
                DeadLetter(
                    queue=dlq.logical_id,
                    source_queue=source_id,
                    body=m["Body"],
                    receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                )
                for m in peeked
            )
        return found


def subscribe_alert_inbox(sqs: Any, sns: Any, topic_arn: str, stack_name: str) -> str:
    """An SQS queue subscribed to the safety topic, standing in for the safety team (raw delivery
    off: each message is an SNS envelope); its URL."""
    url = str(sqs.create_queue(QueueName=f"{stack_name}-alerts-inbox")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    return url


def s3_keys_in(body: str) -> list[str]:
    """Object keys named by an S3 event notification (keys arrive URL-encoded, `+` for spaces)."""
    try:
        records = json.loads(body).get("Records") or []
    except (ValueError, AttributeError):
        return []
    return [urllib.parse.unquote_plus(r["s3"]["object"]["key"]) for r in records if "s3" in r]


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
