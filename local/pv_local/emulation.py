"""Moto, made to cost less while the local stack runs (behaviour unchanged).

Moto's `TransactWriteItems` deep-copies every table a transaction writes before applying it, so
it can put the copy back if the transaction is cancelled. A case write is one transaction (the
case and its drug index items), so each one cost time in proportion to the cases already stored:
52-59 ms per document over a 224-document `pv bench`, growing with the run (quadratic over a
backlog). `item_level_transactions` keeps moto's own transaction code and its checks, but backs up
only the items the transaction names, and on cancellation puts those items back as they were.

Moto's JSON response serializer walks every DynamoDB attribute value against the service model,
looking each of its ten possible members up under several spellings: a GetItem, BatchGetItem or
Query of a stored case (a few hundred attributes) cost 10-80 ms. The values moto's DynamoDB
backend returns are already in the wire format (`Item.to_json()`), so `plain_attribute_values`
writes them as they are, unless they hold binary (which the serializer base64-encodes).

Three more walks over moto's whole state per call, each growing with the run (`faster_moto` opens
them all, with the two above):

- `sqs_clock`: SQS asks every stored message, several times a call, whether it is visible or
  delayed, each answer building two `datetime`s; the clock is read as `time.time()` instead (the
  same value: moto's `unix_time` is the seconds since 1970 of `datetime.now(timezone.utc)`).
- `sqs_retention_by_attribute`: `ReceiveMessage` checked each message it returned against the
  queue's retention period by computing all the queue's attributes, the three approximate message
  counts included (each a walk over every message): the period is read from the queue itself.
- `sqs_send_without_queue_attributes`: each `SendMessage` (a case request, an S3 notification, an
  alert delivered to a subscribed queue) asked for all the queue's attributes, the three
  approximate message counts included, to read whether a FIFO queue deduplicates by content;
  that one flag is read instead.
- `query_by_partition`: a `Query` on a table's own key sorted every item of the table before keeping
  those of the partition asked for; it now takes that partition's items (the same items, sorted the
  same way). Queries on an index are unchanged.
- `update_without_stream_copy`: `UpdateItem` deep-copied the item it updates for the table's stream
  before anything else; a table without a stream never reads that copy, so it is not made.
- `projection_in_one_pass`: a `ProjectionExpression` converted the whole item to plain JSON once
  for each attribute path it names (six paths of a stored case: six conversions of a few hundred
  attributes); only the branches of the item that the paths reach are converted, once per
  projection (a linked case's drugs, events, coding and keys, not its mentions and sentences).
- `item_size_checked_once`: building an item (every PutItem, every item of a transaction or a batch
  write) checked the 400 KB limit as each attribute was added, summing the sizes of all the
  attributes already there, nested maps walked to the bottom each time (quadratic in the number of
  attributes); the item's size is summed once, against the same limit.
- `sns_signing_certificate_once`: SNS made and signed a new X.509 certificate for every message it
  delivered to a subscription (the message itself is signed with the subscription's key, which
  moto makes once); the certificate is made once per key. Each message keeps its own signature and
  its own SigningCertURL, which serves that certificate.
- `regular_json_without_copies`: converting an attribute value to plain JSON (every item read,
  projected or returned) deep-copied the value, and then each nested value copied itself again on
  its own conversion (a case's maps and lists copied once per level they sit under); the
  conversion builds new maps and lists anyway, so it now builds them without the copies.
- `update_without_returned_values`: an `UpdateItem` deep-copied the item and converted it to JSON
  before the update, and converted it again after, for the values it returns; with `ReturnValues`
  NONE (the default: the idempotency record's completion, an alert marked sent) none are, so the
  copy and both conversions are skipped.
- `update_expressions_parsed_once`: an `UpdateItem` parsed its update expression twice (the
  response checks the names and values it uses, the backend applies it), and each update with
  the same text parsed it again; the tree is only read (moto validates a deep copy of it), so it is
  parsed once per text.
- `action_methods_listed_once`: every request listed its response class's methods with
  `inspect.getmembers` to check that the action has one; the list is made once per class.
- `json_bodies_as_sent`: moto parses every JSON-protocol request (DynamoDB, SQS) by walking its
  body against the service model, each attribute value of an item against the ten members of
  `AttributeValue`; what comes out differs from `json.loads` only where the parser converts a
  value (base64 to bytes, dates, floats) or drops a null. A body that names none of its
  operation's converted members (`"B"`/`"BS"` for DynamoDB, `"BinaryValue"` for SQS) and holds no
  null is read with `json.loads`; any other is parsed as before.
"""

from __future__ import annotations

import base64
import copy
import inspect
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

_state = threading.local()
_install_lock = threading.Lock()


_COPY = object()  # what a copy shim's rule gives for a value it leaves to be copied


class _CopyShim:
    """Stands in for the `copy` module inside a moto module while a shortcut is open: `deepcopy`
    gives what `instead(value)` gives, and copies as `copies` does where that is `_COPY`."""

    def __init__(self, copies: Any, instead: Callable[[Any], Any]) -> None:
        self.copies = copies
        self.instead = instead

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        kept = self.instead(value)
        return self.copies.deepcopy(value, memo) if kept is _COPY else kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self.copies, name)


def _touched(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash value, range value, a copy of the item or None) for every item named."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    backups = []
    for action in transact_items:
        for kind, op in action.items():
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = op.get("Item") if kind == "Put" else op.get("Key")
            if not isinstance(key, dict) or table.hash_key_attr not in key:
                continue  # moto rejects it before writing anything for it
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in key:
                    continue
                range_value = DynamoType(key[table.range_key_attr])
            if range_value is not None:
                current = table.items.get(hash_value, {}).get(range_value)
            else:
                current = table.items.get(hash_value)
            backups.append((table, hash_value, range_value, copy.deepcopy(current)))
    return backups


def _restore(backups: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_value, range_value, original in reversed(backups):
        if range_value is not None:
            if original is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = original
        elif original is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = original


@contextmanager
def item_level_transactions() -> Iterator[None]:
    """While open, moto's DynamoDB transactions back up the items they name, not whole tables."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    backend_type = models.DynamoDBBackend
    with _install_lock:
        original = backend_type.transact_write_items
        module_copy = models.copy

        def uncopied_table(value: Any) -> Any:
            # a table the running transaction names: its items are backed up one by one instead
            return value if isinstance(value, Table) and getattr(_state, "active", False) else _COPY

        models.copy = _CopyShim(module_copy, uncopied_table)  # type: ignore[assignment]

        def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
            backups = _touched(self, transact_items)
            _state.active = True
            try:
                original(self, transact_items)
            except BaseException:
                _restore(backups)
                raise
            finally:
                _state.active = False

        backend_type.transact_write_items = transact_write_items  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _install_lock:
            backend_type.transact_write_items = original  # type: ignore[method-assign]
            models.copy = module_copy


def _no_binary(value: Any) -> bool:
    """True when this DynamoDB JSON value holds no B or BS anywhere (it is then already final)."""
    if not isinstance(value, dict):
        return False
    if "B" in value or "BS" in value:
        return False
    if "M" in value:
        members = value["M"]
        return isinstance(members, dict) and all(_no_binary(v) for v in members.values())
    if "L" in value:
        items = value["L"]
        return isinstance(items, list) and all(_no_binary(v) for v in items)
    return True


@contextmanager
def plain_attribute_values() -> Iterator[None]:
    """While open, DynamoDB attribute values in moto's JSON responses are written as they are."""
    from moto.core.serialize import BaseJSONSerializer

    with _install_lock:
        original = BaseJSONSerializer._serialize_type_structure

        def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
            if shape.name == "AttributeValue" and _no_binary(value):
                self._default_serialize(serialized, value, shape, key)
                return
            original(self, serialized, value, shape, key)

        BaseJSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _install_lock:
            BaseJSONSerializer._serialize_type_structure = original  # type: ignore[method-assign]


def _unix_time(dt: Any = None) -> float:
    if dt is not None:
        from moto.core.utils import unix_time

        return unix_time(dt)
    return time.time()


def _unix_time_millis(dt: Any = None) -> float:
    return _unix_time(dt) * 1000.0


@contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """Set `owner.name` to `value` while open (under the install lock), then put it back."""
    with _install_lock:
        original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        setattr(owner, name, value)
    try:
        yield
    finally:
        with _install_lock:
            setattr(owner, name, original)


def _with_state(
    original: Callable[..., Any], name: str, value_for: Callable[[Any, dict[str, Any]], Any]
) -> Callable[..., Any]:
    """`original` run with `_state.<name>` set to `value_for(self, its arguments)` and cleared
    after (run as it is when that gives None)."""
    signature = inspect.signature(original)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        value = value_for(self, signature.bind(self, *args, **kwargs).arguments)
        if value is None:
            return original(self, *args, **kwargs)
        setattr(_state, name, value)
        try:
            return original(self, *args, **kwargs)
        finally:
            setattr(_state, name, None)

    return wrapper


@contextmanager
def sqs_clock() -> Iterator[None]:
    """While open, moto's SQS reads the time as `time.time()`, not through two datetimes."""
    import moto.sqs.models as sqs

    with _patched(sqs, "unix_time", _unix_time), _patched(sqs, "unix_time_millis", _unix_time_millis):
        yield


@contextmanager
def sqs_retention_by_attribute() -> Iterator[None]:
    """While open, `ReceiveMessage` reads a queue's retention period without computing every
    attribute of the queue for each message it returns."""
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = self.get_queue(queue_name).message_retention_period
        return bool(int(retention_period) + message.sent_timestamp / 1000 > time.time())

    with _patched(
        SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period
    ):
        yield


class _ContentDeduplication:
    """A queue's attributes as sending a message reads them: `ContentBasedDeduplication` worked
    out alone (a FIFO queue's flag, as `Queue.attributes` writes it), anything else from them all."""

    def __init__(self, queue: Any, every: Callable[[Any], dict[str, Any]]) -> None:
        self.queue = queue
        self.every = every

    def get(self, name: str, default: Any = None) -> Any:
        if name != "ContentBasedDeduplication":
            return self.every(self.queue).get(name, default)
        if not self.queue.fifo_queue:
            return default
        value = self.queue.content_based_deduplication
        return str(value).lower() if isinstance(value, bool) else value

    def __getitem__(self, name: str) -> Any:
        return self.every(self.queue)[name]

    def __contains__(self, name: object) -> bool:
        return name in self.every(self.queue)


@contextmanager
def sqs_send_without_queue_attributes() -> Iterator[None]:
    """While open, sending a message reads the queue's one deduplication flag, not every attribute
    of the queue (three of which count its messages)."""
    from moto.sqs.models import Queue, SQSBackend

    every = Queue.__dict__["attributes"].fget

    def attributes(self: Any) -> Any:
        return _ContentDeduplication(self, every) if getattr(_state, "sqs_sending", None) else every(self)

    send_message = _with_state(SQSBackend.send_message, "sqs_sending", lambda _self, _args: True)
    with (
        _patched(Queue, "attributes", property(attributes)),
        _patched(SQSBackend, "send_message", send_message),
    ):
        yield


@contextmanager
def query_by_partition() -> Iterator[None]:
    """While open, a `Query` on a table's own key looks at that partition's items only."""
    from moto.dynamodb.models.table import Table

    original_all_items = Table.all_items

    def partition_asked(table: Any, arguments: dict[str, Any]) -> Any:
        hash_key = arguments.get("hash_key")
        return None if arguments.get("index_name") or hash_key is None else (table, hash_key)

    query = _with_state(Table.query, "partition", partition_asked)

    def all_items(self: Any) -> Any:
        partition = getattr(_state, "partition", None)
        if partition is None or partition[0] is not self:
            return original_all_items(self)
        _state.partition = None  # only the query's own first listing is narrowed
        found = self.items.get(partition[1])
        if found is None:
            return []
        items = list(found.values()) if self.range_key_attr else [found]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    with _patched(Table, "query", query), _patched(Table, "all_items", all_items):
        yield


@contextmanager
def update_without_stream_copy() -> Iterator[None]:
    """While open, `UpdateItem` on a table without a stream skips the item copy only a stream reads."""
    import moto.dynamodb.models as models
    from moto.dynamodb.models.dynamo_type import Item

    backend_type = models.DynamoDBBackend

    def streamless(backend: Any, arguments: dict[str, Any]) -> bool | None:
        table = backend.tables.get(arguments.get("table_name"))
        return True if table is not None and table.stream_shard is None else None

    update_item = _with_state(backend_type.update_item, "skip_item_copy", streamless)

    def stream_copy(value: Any) -> Any:
        # while an update of a streamless table runs, its first deep copy (the stream's
        # `orig_item`) is the item itself
        if not getattr(_state, "skip_item_copy", False):
            return _COPY
        _state.skip_item_copy = False  # only the first copy of the update is the stream's
        return value if isinstance(value, Item) else _COPY

    with (
        _patched(backend_type, "update_item", update_item),
        _patched(models, "copy", _CopyShim(models.copy, stream_copy)),
    ):
        yield


@contextmanager
def projection_in_one_pass() -> Iterator[None]:
    """While open, a projection converts to plain JSON only the branches of the item its paths
    name, once, not the whole item once per attribute path."""
    from moto.dynamodb.models import dynamo_type

    item_type = dynamo_type.Item
    deserialize = dynamo_type.deserializer.deserialize

    def project(self: Any, projection_expressions: list[list[str]]) -> Any:
        named = _named_branches(projection_expressions)
        plain = {
            name: deserialize(_pruned(self.attrs[name], branches).to_regular_json())
            for name, branches in named.items()
            if name in self.attrs
        }
        result: dict[str, Any] = {}
        for expr in projection_expressions:
            dynamo_type.merge_dicts(result, dynamo_type.find_nested_key(expr, plain))
        return item_type(
            hash_key=self.hash_key,
            range_key=self.range_key,
            attrs=dynamo_type.serializer.serialize(result)["M"],
        )

    with _patched(item_type, "project", project):
        yield


_LIST_ELEMENT = re.compile(r"(.+)\[(\d+)\]$")  # moto's find_nested_key: a path part naming a list element


def _named_branches(paths: list[list[str]]) -> dict[str, Any]:
    """The attribute names that projection paths reach, as a tree: a name maps to True where the
    whole value is kept (the path ends there or takes a list element), else to the names under it."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for depth, part in enumerate(path):
            element = _LIST_ELEMENT.match(part)
            name = element.group(1) if element else part
            if node.get(name) is True:
                break
            if element or depth == len(path) - 1:
                node[name] = True
                break
            node = node.setdefault(name, {})
    return tree


def _pruned(value: Any, branches: Any) -> Any:
    """`value` with only the map members `branches` names (the same values, not copies)."""
    if branches is True or not value.is_map():
        return value
    pruned = copy.copy(value)  # its type; its members replaced below, the stored value untouched
    pruned.value = {k: _pruned(v, branches[k]) for k, v in value.value.items() if k in branches}
    return pruned


@contextmanager
def item_size_checked_once() -> Iterator[None]:
    """While open, a new item's size is checked once, not once per attribute it is built from."""
    from moto.dynamodb.models import dynamo_type

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        values = {key: dynamo_type.DynamoType(value) for key, value in attrs.items()}
        # moto's LimitedSizeDict check, summed once: the keys' bytes and the values' sizes.
        size = sum(dynamo_type.bytesize(key) + value.size() for key, value in values.items())
        if size > _ITEM_SIZE_LIMIT:
            raise dynamo_type.ItemSizeTooLarge
        self.attrs = dynamo_type.LimitedSizeDict()
        dict.update(self.attrs, values)  # what LimitedSizeDict.__setitem__ would store, unchecked

    with _patched(dynamo_type.Item, "__init__", __init__):
        yield


# moto's own limit (dynamo_type.LimitedSizeDict): between the 409 and 410 KB DynamoDB applies.
_ITEM_SIZE_LIMIT = 405000


@contextmanager
def sns_signing_certificate_once() -> Iterator[None]:
    """While open, SNS's message signing certificate is made once per signing key, not per message."""
    from cryptography import x509
    from moto.sns.models import Subscription

    builder = x509.CertificateBuilder
    original_sign = builder.sign
    made: dict[int, tuple[Any, Any]] = {}  # id(key) -> (the key, its certificate)
    lock = threading.Lock()

    def sign(self: Any, private_key: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(_state, "sns_post_data", None):
            return original_sign(self, private_key, *args, **kwargs)
        with lock:
            entry = made.get(id(private_key))
            if entry is None or entry[0] is not private_key:
                entry = made[id(private_key)] = (
                    private_key,
                    original_sign(self, private_key, *args, **kwargs),
                )
            return entry[1]

    get_post_data = _with_state(Subscription.get_post_data, "sns_post_data", lambda _self, _args: True)
    with _patched(Subscription, "get_post_data", get_post_data), _patched(builder, "sign", sign):
        yield


@contextmanager
def regular_json_without_copies() -> Iterator[None]:
    """While open, an attribute value is converted to plain JSON without first deep-copying it."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    def plain(value: Any) -> Any:
        if isinstance(value, DynamoType):
            return value.to_regular_json()
        return value if isinstance(value, str | bytes) else copy.deepcopy(value)  # a set's members

    def to_regular_json(self: Any) -> dict[str, Any]:
        # moto deep-copies the value, then each nested value converts (and copies) itself again; the
        # conversion builds new maps and lists all the way down, so the copy only costs.
        value = self.value
        if isinstance(value, dict):
            value = {k: plain(v) for k, v in value.items()}
        elif isinstance(value, list):
            value = [plain(v) for v in value]
        elif self.is_binary() and isinstance(value, str):
            value = base64.b64decode(value)
        return {self.type: value}

    with _patched(DynamoType, "to_regular_json", to_regular_json):
        yield


class _Unreturned:
    """The updated item, as an `UpdateItem` returning no values reads it: no attributes."""

    def to_json(self) -> dict[str, Any]:
        return {"Attributes": {}}


@contextmanager
def update_without_returned_values() -> Iterator[None]:
    """While open, an `UpdateItem` returning no values skips the copy and JSON of the item before
    the update and the JSON of the item after it, which only returned values are built from."""
    import moto.dynamodb.models as models
    import moto.dynamodb.responses as responses

    handler_type = responses.DynamoHandler
    backend_type = models.DynamoDBBackend
    original_handler = handler_type.__dict__["update_item"]
    original_backend = backend_type.__dict__["update_item"]

    def update_item(self: Any) -> Any:
        if self.body.get("ReturnValues", "NONE") != "NONE":
            return original_handler(self)
        _state.unreturned_update = True
        try:
            return original_handler(self)
        finally:
            _state.unreturned_update = False

    def backend_update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_backend(self, *args, **kwargs)
        return _Unreturned() if getattr(_state, "unreturned_update", False) else item

    def old_item(value: Any) -> Any:
        # the responses' one deep copy is of the item before an update, kept for the values
        # returned; none are, so it is not made
        return None if getattr(_state, "unreturned_update", False) else _COPY

    with (
        _patched(handler_type, "update_item", update_item),
        _patched(backend_type, "update_item", backend_update_item),
        _patched(responses, "copy", _CopyShim(responses.copy, old_item)),
    ):
        yield


@contextmanager
def update_expressions_parsed_once() -> Iterator[None]:
    """While open, an update expression is parsed once per distinct text, not twice per update."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    make = UpdateExpressionParser.make
    parsed: dict[str, Any] = {}

    def cached(cls: Any, expression: str) -> Any:
        # moto only reads the tree it parses (its validator works on a deep copy of it), so one
        # tree serves every update with the same text; a text that does not parse still raises.
        tree = parsed.get(expression)
        if tree is None:
            if len(parsed) >= _PARSED_EXPRESSIONS:
                parsed.clear()
            tree = parsed[expression] = make(expression)
        return tree

    with _patched(UpdateExpressionParser, "make", classmethod(cached)):
        yield


_PARSED_EXPRESSIONS = 512  # distinct update expressions kept (the functions use a handful)


@contextmanager
def action_methods_listed_once() -> Iterator[None]:
    """While open, the names of a service's action methods are listed once per response class,
    not with `inspect.getmembers` on every request."""
    import moto.core.responses as responses

    listed: dict[type, frozenset[str]] = {}
    method_names_from_class = responses.method_names_from_class

    def listed_once(clazz: type) -> frozenset[str]:
        # The shortcuts here replace methods with methods of the same names, so a class's list
        # stays what moto would find.
        names = listed.get(clazz)
        if names is None:
            names = listed[clazz] = frozenset(method_names_from_class(clazz))
        return names

    with _patched(responses, "method_names_from_class", listed_once):
        yield


# Shapes a JSON request parser converts (base64 to bytes, dates, floats); every other shape it passes
# on as `json.loads` gave it.
_CONVERTED_SHAPES = frozenset({"blob", "timestamp", "float", "double"})


def _holds_converted(shape: Any) -> bool:
    """A converted shape, or a list or map of them (a structure's members are named on their own)."""
    if shape.type_name == "list":
        return _holds_converted(shape.member)
    if shape.type_name == "map":
        return _holds_converted(shape.value)
    return shape.type_name in _CONVERTED_SHAPES


def _converted_member_names(shape: Any, seen: set[str] | None = None) -> set[bytes]:
    """The JSON names, quoted, of the members under `shape` that hold what the parser converts."""
    seen = set() if seen is None else seen
    if shape is None or shape.name in seen:
        return set()
    seen.add(shape.name)
    names: set[bytes] = set()
    if shape.type_name == "structure":
        for member_name, member in shape.members.items():
            if _holds_converted(member):
                names.add(b'"%s"' % member.serialization.get("name", member_name).encode())
            names |= _converted_member_names(member, seen)
    elif shape.type_name == "list":
        names |= _converted_member_names(shape.member, seen)
    elif shape.type_name == "map":
        names |= _converted_member_names(shape.value, seen)
    return names


@contextmanager
def json_bodies_as_sent() -> Iterator[None]:
    """While open, a JSON-protocol request that names none of its operation's converted members is
    read as `json.loads` reads it, not walked against the service model."""
    from moto.core.request import determine_request_protocol
    from moto.core.responses import BaseResponse
    from moto.core.utils import get_service_model

    original = BaseResponse.__dict__["parse_parameters"]
    converted: dict[tuple[str, str], frozenset[bytes]] = {}  # (service, action) -> quoted names

    def parse_parameters(self: Any, request: Any) -> None:
        body = request.data
        # A null member is dropped by the parser and kept by json.loads: such bodies are parsed.
        if body and b"null" not in body:
            service = get_service_model(self.boto3_service_name)
            if determine_request_protocol(service, request.content_type) == "json":
                action = self._get_action()
                names = converted.get((service.service_name, action))
                if names is None:
                    shape = service.operation_model(action).input_shape
                    names = converted[(service.service_name, action)] = frozenset(
                        _converted_member_names(shape)
                    )
                if not any(name in body for name in names):
                    try:
                        parsed = json.loads(body)
                    except ValueError:
                        parsed = None
                    if isinstance(parsed, dict):
                        self.params = parsed
                        return
        original(self, request)

    with _patched(BaseResponse, "parse_parameters", parse_parameters):
        yield


@contextmanager
def faster_moto() -> Iterator[None]:
    """Every shortcut above at once (what the local stack runs with)."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        for shortcut in (
            item_level_transactions,
            plain_attribute_values,
            sqs_clock,
            sqs_retention_by_attribute,
            sqs_send_without_queue_attributes,
            query_by_partition,
            update_without_stream_copy,
            projection_in_one_pass,
            item_size_checked_once,
            sns_signing_certificate_once,
            regular_json_without_copies,
            update_without_returned_values,
            json_bodies_as_sent,
            update_expressions_parsed_once,
            action_methods_listed_once,
        ):
            stack.enter_context(shortcut())
        yield
