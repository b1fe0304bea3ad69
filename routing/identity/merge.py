"""Merging two customers into one, and undoing it.

A merge moves every row that belongs to the merged customer (conversations, addresses,
timeline, queue entries, and whatever table later points at customers) to the
survivor, and writes down exactly which rows moved. Undoing moves those rows back;
anything that happened to the survivor after the merge stays with the survivor.

Fields conflict-free by rule: where both have a value the survivor's wins (name,
external id, language, each detail); the survivor takes only what it lacked, and
labels add up. What it took is written down too, and an undo takes it back (unless
someone changed that field since); the merged customer never lost any of it.

Custom attributes follow the same rule: the survivor keeps its own values; a value only
the merged customer had is copied to the survivor; where both had a different value the
survivor's wins and the merged customer's is written on the merge's timeline entry
(`data.attributes_kept_aside`). The merged customer's own values are never touched, so an
undo gives both customers back exactly the attributes they had (the survivor loses the
copies, unless someone changed them since).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.customer_attributes import shown
from hub.models import (
    Base,
    Customer,
    CustomerAttribute,
    CustomerAttributeValue,
    CustomerLink,
    CustomerMerge,
    utcnow,
)

__all__ = ["MergeError", "decided_apart", "merge_customers", "unmerge"]

# Rows of these tables describe customers, merges or links between customers
# themselves; they never move.
_NOT_MOVED = frozenset(
    {"customers", "customer_merges", "customer_links", "customer_attribute_values"}
)


class MergeError(ValueError):
    """A merge or unmerge that cannot be done (unknown, same or already merged customer)."""


def _owned_tables() -> list[tuple[Table, str]]:
    """(table, column) for every column that points at customers.id."""
    found = []
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_MOVED:
            continue
        for column in table.columns:
            if any(fk.column.table.name == "customers" for fk in column.foreign_keys):
                found.append((table, column.name))
    return found


async def merge_customers(
    session: AsyncSession, survivor_id: int, merged_id: int, *, agent_id: int | None = None
) -> CustomerMerge:
    """Make `merged_id` part of `survivor_id`; returns the merge record (flushed, not committed)."""
    if survivor_id == merged_id:
        raise MergeError("a customer cannot be merged into itself")
    survivor = await _active(session, survivor_id)
    merged = await _active(session, merged_id)
    moved: dict[str, Any] = {"rows": {}, "filled": {}}
    for table, column in _owned_tables():
        key = table.primary_key.columns.values()[0]
        ids = list(await session.scalars(select(key).where(table.c[column] == merged_id)))
        if ids:
            await session.execute(update(table).where(key.in_(ids)).values({column: survivor_id}))
            moved["rows"][f"{table.name}.{column}"] = ids
    moved["filled"] = await _fill_gaps(session, survivor, merged)
    given, aside = await _merge_attributes(session, survivor_id, merged_id)
    if given:
        moved["filled"]["attributes"] = given
    merged.merged_into_id = survivor_id
    await session.flush()
    merge = CustomerMerge(
        survivor_id=survivor_id, merged_id=merged_id, agent_id=agent_id, moved=moved
    )
    session.add(merge)
    await session.flush()
    summary = f"Merged customer {merged_id} ({merged.name or 'no name'}) into this one"
    if aside:
        kept = "; ".join(f"{a['label']}: {shown(a['value'])}" for a in aside)
        summary += f"; this customer's values kept over theirs ({kept})"
    crm.record(
        session,
        customer_id=survivor_id,
        agent_id=agent_id,
        kind="customer.merged",
        summary=summary,
        merge_id=merge.id,
        merged_id=merged_id,
        attributes_kept_aside=aside,
    )
    await session.flush()
    return merge


async def unmerge(
    session: AsyncSession, merge_id: int, *, agent_id: int | None = None
) -> CustomerMerge:
    """Undo a merge: the merged customer gets back every row that moved."""
    merge = await session.get(CustomerMerge, merge_id)
    if merge is None:
        raise MergeError(f"no merge {merge_id}")
    if merge.undone_at is not None:
        raise MergeError(f"merge {merge_id} was undone already")
    survivor = await session.get(Customer, merge.survivor_id)
    merged = await session.get(Customer, merge.merged_id)
    assert survivor is not None and merged is not None
    for table, column in _owned_tables():
        ids = merge.moved.get("rows", {}).get(f"{table.name}.{column}")
        if ids:
            key = table.primary_key.columns.values()[0]
            await session.execute(
                update(table)
                .where(key.in_(ids), table.c[column] == merge.survivor_id)
                .values({column: merge.merged_id})
            )
    filled = merge.moved.get("filled", {})
    if "external_id" in filled and survivor.external_id == filled["external_id"]:
        survivor.external_id = None
        await session.flush()  # the id is unique: free it before handing it back
        merged.external_id = filled["external_id"]
    if "name" in filled and survivor.name == filled["name"]:
        survivor.name = ""
    if "language" in filled and survivor.language == filled["language"]:
        survivor.language = None
    given_labels = filled.get("labels", [])
    survivor.labels = [label for label in survivor.labels if label not in given_labels]
    given = filled.get("details", {})
    survivor.details = {
        k: v for k, v in survivor.details.items() if k not in given or given[k] != v
    }
    await _take_back_attributes(session, merge.survivor_id, filled.get("attributes", {}))
    merged.merged_into_id = None
    merge.undone_at = utcnow()
    await session.flush()
    crm.record(
        session,
        customer_id=merge.survivor_id,
        agent_id=agent_id,
        kind="customer.unmerged",
        summary=f"Undid the merge of customer {merge.merged_id} into this one",
        merge_id=merge.id,
        merged_id=merge.merged_id,
    )
    await session.flush()
    return merge


async def _active(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise MergeError(f"no customer {customer_id}")
    if customer.merged_into_id is not None:
        raise MergeError(f"customer {customer_id} is merged into {customer.merged_into_id}")
    return customer


async def _fill_gaps(session: AsyncSession, survivor: Customer, merged: Customer) -> dict[str, Any]:
    """Give the survivor what only the merged customer knew; returns what was given."""
    filled: dict[str, Any] = {}
    if not survivor.name and merged.name:
        filled["name"] = survivor.name = merged.name
    if survivor.external_id is None and merged.external_id is not None:
        filled["external_id"] = merged.external_id
        merged.external_id = None
        await session.flush()  # the id is unique: it moves rather than being copied
        survivor.external_id = filled["external_id"]
    details = {k: v for k, v in merged.details.items() if v and not survivor.details.get(k)}
    if details:
        filled["details"] = details
        survivor.details = {**survivor.details, **details}
    if not survivor.language and merged.language:
        filled["language"] = survivor.language = merged.language
    # Labels add up: the survivor keeps its own and gains the merged customer's others.
    labels = [label for label in merged.labels if label not in survivor.labels]
    if labels:
        filled["labels"] = labels
        survivor.labels = [*survivor.labels, *labels]
    return filled


async def _merge_attributes(
    session: AsyncSession, survivor_id: int, merged_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Copy the merged customer's attribute values the survivor lacks. Returns what was
    given ({attribute id: value}) and the merged customer's values the survivor's won
    over (key, label, value), for the timeline."""
    ours = {v.attribute_id: v for v in await _values(session, survivor_id)}
    given: dict[str, Any] = {}
    aside: list[dict[str, Any]] = []
    for theirs in await _values(session, merged_id):
        mine = ours.get(theirs.attribute_id)
        if mine is None:
            session.add(
                CustomerAttributeValue(
                    customer_id=survivor_id,
                    attribute_id=theirs.attribute_id,
                    value=theirs.value,
                    value_key=theirs.value_key,
                )
            )
            given[str(theirs.attribute_id)] = theirs.value
        elif mine.value != theirs.value:
            attribute = await session.get(CustomerAttribute, theirs.attribute_id)
            assert attribute is not None
            aside.append({"key": attribute.key, "label": attribute.label, "value": theirs.value})
    return given, aside


async def _take_back_attributes(
    session: AsyncSession, survivor_id: int, given: dict[str, Any]
) -> None:
    """Remove the values a merge copied to the survivor, where nobody changed them since."""
    for value in await _values(session, survivor_id):
        key = str(value.attribute_id)
        if key in given and given[key] == value.value:
            await session.delete(value)


async def _values(session: AsyncSession, customer_id: int) -> list[CustomerAttributeValue]:
    return list(
        await session.scalars(
            select(CustomerAttributeValue)
            .where(CustomerAttributeValue.customer_id == customer_id)
            .order_by(CustomerAttributeValue.attribute_id)
        )
    )


async def decided_apart(session: AsyncSession, a: int, b: int) -> str:
    """Why people said these two are separate customers (a merge of them was undone, or
    their pair was marked not the same), or "" if nobody did."""
    undone = await session.scalar(
        select(CustomerMerge.id).where(
            CustomerMerge.undone_at.is_not(None),
            or_(
                and_(CustomerMerge.survivor_id == a, CustomerMerge.merged_id == b),
                and_(CustomerMerge.survivor_id == b, CustomerMerge.merged_id == a),
            ),
        )
    )
    if undone is not None:
        return f"merge {undone} of these two was undone"
    dismissed = await session.scalar(
        select(CustomerLink.id).where(
            CustomerLink.resolved_at.is_not(None),
            CustomerLink.merge_id.is_(None),
            or_(
                and_(CustomerLink.customer_id == a, CustomerLink.other_id == b),
                and_(CustomerLink.customer_id == b, CustomerLink.other_id == a),
            ),
        )
    )
    if dismissed is not None:
        return "marked not the same"
    return ""
