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
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_state = threading.local()
_install_lock = threading.Lock()


class _TableCopyShim:
    """Stands in for the `copy` module inside moto's DynamoDB backend: a table named by the
    running transaction is not copied (its items are backed up one by one instead)."""

    def __init__(self, table_type: type) -> None:
        self.table_type = table_type

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self.table_type) and getattr(_state, "active", False):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


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
        models.copy = _TableCopyShim(Table)  # type: ignore[assignment]

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
